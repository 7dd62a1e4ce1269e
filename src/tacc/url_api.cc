#include "tacc/url_api.h"

#include <fmt/format.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cctype>

namespace tacc::tacc_layer {
namespace {

std::optional<std::string> FromHex(std::string_view hex) {
  if (hex.size() % 2 != 0) return std::nullopt;
  std::string out;
  out.reserve(hex.size() / 2);
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (size_t i = 0; i < hex.size(); i += 2) {
    int hi = nibble(hex[i]), lo = nibble(hex[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out.push_back(static_cast<char>(hi * 16 + lo));
  }
  return out;
}

bool IsOptionName(std::string_view s) {
  if (s.empty() || s.size() > 16) return false;
  for (char c : s)
    if (!std::islower(static_cast<unsigned char>(c)) && !std::isdigit(static_cast<unsigned char>(c)) && c != '_') return false;
  return true;
}

}  // namespace

Result<std::vector<UrlSigningKey>> ParseSigningKeys(const std::vector<std::string>& entries) {
  std::vector<UrlSigningKey> keys;
  for (const auto& e : entries) {
    auto colon = e.find(':');
    auto key = FromHex(std::string_view(e).substr(0, colon));
    auto salt = colon == std::string::npos ? std::optional<std::string>(std::string()) : FromHex(std::string_view(e).substr(colon + 1));
    if (!key || !salt) return Status::InvalidArgument("a signing key is \"<hex key>:<hex salt>\" (hex digits only)");
    if (key->size() < 16) return Status::InvalidArgument("a signing key must have at least 16 bytes (32 hex digits)");
    keys.push_back({std::move(*key), std::move(*salt)});
  }
  return keys;
}

std::string Base64UrlEncode(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), reinterpret_cast<const unsigned char*>(bytes.data()),
                          static_cast<int>(bytes.size()));
  out.resize(static_cast<size_t>(n));
  while (!out.empty() && out.back() == '=') out.pop_back();
  for (auto& c : out) c = c == '+' ? '-' : c == '/' ? '_' : c;
  return out;
}

std::optional<std::string> Base64UrlDecode(std::string_view text) {
  if (text.size() % 4 == 1 || text.size() > (1u << 16)) return std::nullopt;
  std::string b64(text);
  for (auto& c : b64) {
    if (c == '-') c = '+';
    else if (c == '_') c = '/';
    else if (!std::isalnum(static_cast<unsigned char>(c))) return std::nullopt;
  }
  size_t pad = (4 - b64.size() % 4) % 4;
  b64.append(pad, '=');
  std::string out(b64.size() / 4 * 3, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()), reinterpret_cast<const unsigned char*>(b64.data()), static_cast<int>(b64.size()));
  if (n < 0) return std::nullopt;
  out.resize(static_cast<size_t>(n) - pad);  // EVP_DecodeBlock counts the padding as zero bytes
  return out;
}

std::string SignUrlPath(const UrlSigningKey& key, std::string_view path) {
  std::string message = key.salt;
  message.append(path);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.key.data(), static_cast<int>(key.key.size()), reinterpret_cast<const unsigned char*>(message.data()), message.size(), mac, &len);
  return Base64UrlEncode(std::string_view(reinterpret_cast<const char*>(mac), len));
}

Result<TransformRequest> ParseTransformPath(std::string_view rest) {
  auto bad = [](const std::string& why) { return Status::InvalidArgument("URL API: " + why + " (expected /_tacc/t/<signature>/<options>/<base64url source>)"); };
  auto query = rest.find('?');
  if (query != std::string_view::npos) rest = rest.substr(0, query);
  auto s1 = rest.find('/');
  if (s1 == std::string_view::npos || s1 == 0) return bad("no signature");
  auto s2 = rest.find('/', s1 + 1);
  if (s2 == std::string_view::npos) return bad("no options");
  TransformRequest r;
  r.signature = std::string(rest.substr(0, s1));
  r.signed_path = std::string(rest.substr(s1));
  std::string_view options = rest.substr(s1 + 1, s2 - s1 - 1);
  std::string_view source = rest.substr(s2 + 1);
  if (options.empty()) return bad("empty options (use _ for none)");
  if (options != "_") {
    while (!options.empty()) {
      auto comma = options.find(',');
      std::string_view kv = options.substr(0, comma);
      options = comma == std::string_view::npos ? std::string_view{} : options.substr(comma + 1);
      auto colon = kv.find(':');
      if (colon == std::string_view::npos || !IsOptionName(kv.substr(0, colon)) || colon + 1 == kv.size())
        return bad(fmt::format("option '{}' is not name:value", kv.substr(0, 40)));
      std::string name(kv.substr(0, colon));
      if (r.options.count(name)) return bad(fmt::format("option '{}' given twice", name));
      r.options[name] = std::string(kv.substr(colon + 1));
    }
  }
  auto url = Base64UrlDecode(source);
  if (!url || url->empty()) return bad("the source is not base64url");
  for (char c : *url)
    if (static_cast<unsigned char>(c) <= 0x20 || static_cast<unsigned char>(c) >= 0x7f) return bad("the source URL has spaces or control characters");
  r.source_url = std::move(*url);
  return r;
}

Status VerifySignature(const TransformRequest& request, const std::vector<UrlSigningKey>& keys, bool allow_unsigned) {
  if (request.signature == "unsafe") {
    if (allow_unsigned) return Status::Ok();
    return Status::Forbidden("unsigned URL API requests are not allowed here (url_api.allow_unsigned); sign the path with `tacc url sign`");
  }
  bool ok = false;
  for (const auto& k : keys) {  // every key is tried: the time does not tell which one matched
    std::string expected = SignUrlPath(k, request.signed_path);
    if (expected.size() == request.signature.size() && CRYPTO_memcmp(expected.data(), request.signature.data(), expected.size()) == 0) ok = true;
  }
  if (ok) return Status::Ok();
  return Status::Forbidden(keys.empty() ? "this front end has no URL API keys (url_api.keys)" : "the URL API signature does not match");
}

std::string MakeTransformPath(const std::string& source_url, const std::map<std::string, std::string>& options, const UrlSigningKey* key) {
  std::string opts;
  for (const auto& [k, v] : options) opts += (opts.empty() ? "" : ",") + k + ":" + v;
  if (opts.empty()) opts = "_";
  std::string path = "/" + opts + "/" + Base64UrlEncode(source_url);
  std::string sig = key ? SignUrlPath(*key, path) : "unsafe";
  return std::string(kUrlApiPrefix) + sig + path;
}

}  // namespace tacc::tacc_layer
