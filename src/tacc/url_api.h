// URL API: one endpoint that transforms a given URL with given parameters, in the
// manner of an image CDN (issue 7), with signed paths so that only URLs the site
// operator made can be asked for.
//
//   /_tacc/t/<signature>/<options>/<source>
//     options:   "_" for none, else comma-separated name:value, e.g. "w:320,h:240,q:60,f:webp"
//     source:    the source URL, base64url-encoded (RFC 4648 §5, no padding)
//     signature: base64url(HMAC-SHA256(key, salt + "/<options>/<source>")), or "unsafe"
//               where unsigned requests are allowed
//
// Several (key, salt) pairs may be in force at once (rotation: add the new pair, move
// the sites over, drop the old one); a path signed with any of them is accepted. The
// comparison takes the same time whatever the signature.
//
// Pure logic; thread-safe.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace tacc::tacc_layer {

inline constexpr std::string_view kUrlApiPrefix = "/_tacc/t/";

struct UrlSigningKey {
  std::string key;   // raw bytes
  std::string salt;  // raw bytes
};

// Entries "<hex key>:<hex salt>" (the salt may be empty; the key at least 16 bytes).
Result<std::vector<UrlSigningKey>> ParseSigningKeys(const std::vector<std::string>& entries);

std::string Base64UrlEncode(std::string_view bytes);
std::optional<std::string> Base64UrlDecode(std::string_view text);

// The signature of `path` ("/<options>/<source>") under `key`.
std::string SignUrlPath(const UrlSigningKey& key, std::string_view path);

struct TransformRequest {
  std::string signature;
  std::string signed_path;                     // "/<options>/<source>", what was signed
  std::map<std::string, std::string> options;  // name -> value
  std::string source_url;
};

// Parses what follows kUrlApiPrefix. InvalidArgument says what is malformed.
Result<TransformRequest> ParseTransformPath(std::string_view rest);

// Ok if the request's signature is valid under one of `keys`, or is "unsafe" and
// `allow_unsigned`; Forbidden otherwise.
Status VerifySignature(const TransformRequest& request, const std::vector<UrlSigningKey>& keys, bool allow_unsigned);

// The full path for `source_url` with `options`, signed with `key` (or "unsafe" if null).
std::string MakeTransformPath(const std::string& source_url, const std::map<std::string, std::string>& options, const UrlSigningKey* key);

}  // namespace tacc::tacc_layer
