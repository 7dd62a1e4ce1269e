// RequestBuilder: the bytes of one request `tacc play` sends, for each way of reaching
// the service: as a forward proxy (absolute URL), as a reverse proxy (path and Host) or
// through the URL API (/_tacc/t/<signature>/<options>/<source>, signed like
// `tacc url sign`).
//
// `origin` re-points a trace at a test origin: the scheme and authority of every URL
// are replaced by it (a bare path gets it in front), so that a Squid log of real sites
// replays against `tacc trace serve`. Each simulated user carries a `tacc_user` cookie
// derived from its name, so that the service sees as many users (profiles, cache
// locality) as the trace has. Pure; thread-safe once made.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "tacc/url_api.h"

namespace tacc::tools {

enum class TargetMode { kForward, kReverse, kUrlApi };
bool ParseTargetMode(std::string_view name, TargetMode* out);

struct RequestShape {
  TargetMode mode = TargetMode::kForward;
  std::string origin;        // "http://127.0.0.1:9000" or "": URLs as they are
  std::string host_header;   // reverse and URL API: the Host to send ("" : the target's address)
  std::map<std::string, std::string> url_api_options;  // URL API: w:320, q:60, ...
  std::optional<tacc_layer::UrlSigningKey> url_api_key;  // URL API: none = "unsafe"
  std::string user_cookie = "tacc_user";  // "" : send no cookie
  std::vector<std::string> extra_headers;  // "Name: value"
};

// A 32-hex-digit token for `user`, the same for the same name in every run.
std::string UserToken(std::string_view user);

class RequestBuilder {
 public:
  explicit RequestBuilder(RequestShape shape);
  // The whole request for `url` by `user_token` (UserToken; "" none) sent to a target at
  // `target_authority` ("127.0.0.1:8080"). InvalidArgument if the URL can't be made
  // absolute where the mode needs it.
  Result<std::string> Build(std::string_view method, std::string_view url, std::string_view user_token, std::string_view target_authority) const;
  const RequestShape& shape() const { return shape_; }

 private:
  RequestShape shape_;
  std::string fixed_headers_;
};

}  // namespace tacc::tools
