#include "tacc/profile.h"

#include <string>

namespace tacc::tacc_layer {
namespace {

bool IsUnreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '~' || c == '-';
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

void AppendEncoded(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    if (IsUnreserved(c)) {
      out += ch;
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
    }
  }
}

// Decodes `s` into `out`, refusing more than `max_bytes` decoded bytes so that a hostile
// input cannot make us build a large string only to refuse it afterwards.
bool Decode(std::string_view s, size_t max_bytes, std::string& out) {
  out.clear();
  for (size_t i = 0; i < s.size(); ++i) {
    if (out.size() >= max_bytes) return false;
    auto c = static_cast<unsigned char>(s[i]);
    if (IsUnreserved(c)) {
      out += s[i];
      continue;
    }
    if (c != '%' || i + 2 >= s.size()) return false;  // a raw byte we escape, or a cut-off escape
    int hi = HexValue(s[i + 1]);
    int lo = HexValue(s[i + 2]);
    if (hi < 0 || lo < 0) return false;
    out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  return true;
}

std::string Printable(std::string_view s) {
  std::string out;
  AppendEncoded(out, s.substr(0, 64));
  if (s.size() > 64) out += "...";
  return out;
}

}  // namespace

std::optional<std::string_view> Profile::Get(std::string_view key) const {
  auto it = entries_.find(key);
  if (it == entries_.end()) return std::nullopt;
  return std::string_view(it->second);
}

std::string_view Profile::GetOr(std::string_view key, std::string_view fallback) const {
  auto v = Get(key);
  return v ? *v : fallback;
}

void Profile::Set(std::string key, std::string value) { entries_.insert_or_assign(std::move(key), std::move(value)); }

bool Profile::Erase(std::string_view key) {
  auto it = entries_.find(key);
  if (it == entries_.end()) return false;
  entries_.erase(it);
  return true;
}

bool IsValidProfileKey(std::string_view key) {
  if (key.empty()) return false;
  for (char c : key) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
    if (!ok) return false;
  }
  return true;
}

Status Validate(const Profile& profile, const ProfileLimits& limits) {
  if (profile.size() > limits.max_keys) {
    return Status::InvalidArgument("profile has " + std::to_string(profile.size()) + " keys, more than the limit of " +
                                   std::to_string(limits.max_keys));
  }
  for (const auto& [key, value] : profile.entries()) {
    if (key.size() > limits.max_key_bytes) {
      return Status::InvalidArgument("profile key '" + Printable(key) + "' is longer than " + std::to_string(limits.max_key_bytes) +
                                     " bytes");
    }
    if (!IsValidProfileKey(key)) {
      return Status::InvalidArgument("profile key '" + Printable(key) + "' is empty or has characters outside [a-z0-9_.-]");
    }
    if (value.size() > limits.max_value_bytes) {
      return Status::InvalidArgument("value of profile key '" + key + "' is " + std::to_string(value.size()) + " bytes, more than " +
                                     std::to_string(limits.max_value_bytes));
    }
  }
  return Status::Ok();
}

std::string SerializeProfile(const Profile& profile) {
  std::string out;
  for (const auto& [key, value] : profile.entries()) {
    if (!out.empty()) out += '&';
    AppendEncoded(out, key);
    out += '=';
    AppendEncoded(out, value);
  }
  return out;
}

Result<Profile> ParseProfile(std::string_view text, const ProfileLimits& limits) {
  Profile profile;
  if (text.empty()) return profile;
  // The longest text a valid profile serializes to; anything longer is refused at once.
  size_t max_text = limits.max_keys * (3 * limits.max_key_bytes + 3 * limits.max_value_bytes + 2);
  if (text.size() > max_text) {
    return Status::InvalidArgument("serialized profile is " + std::to_string(text.size()) + " bytes, more than any valid profile");
  }
  std::string key;
  std::string value;
  size_t pos = 0;
  size_t index = 0;
  while (true) {
    size_t amp = text.find('&', pos);
    std::string_view pair = text.substr(pos, amp == std::string_view::npos ? std::string_view::npos : amp - pos);
    size_t eq = pair.find('=');
    if (eq == std::string_view::npos) {
      return Status::InvalidArgument("serialized profile: pair " + std::to_string(index) + " has no '='");
    }
    // Keys are checked against the limits after decoding; +1 lets an over-long key through
    // the decoder so that Validate can name the limit it breaks.
    if (!Decode(pair.substr(0, eq), limits.max_key_bytes + 1, key)) {
      return Status::InvalidArgument("serialized profile: malformed or over-long key in pair " + std::to_string(index));
    }
    if (!Decode(pair.substr(eq + 1), limits.max_value_bytes + 1, value)) {
      return Status::InvalidArgument("serialized profile: malformed or over-long value in pair " + std::to_string(index));
    }
    if (profile.Get(key)) return Status::InvalidArgument("serialized profile: duplicate key '" + Printable(key) + "'");
    if (profile.size() >= limits.max_keys) {
      return Status::InvalidArgument("serialized profile has more than " + std::to_string(limits.max_keys) + " keys");
    }
    profile.Set(key, value);
    ++index;
    if (amp == std::string_view::npos) break;
    pos = amp + 1;
  }
  if (Status s = Validate(profile, limits); !s.ok()) return s;
  return profile;
}

}  // namespace tacc::tacc_layer
