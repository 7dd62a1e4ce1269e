// CachedResponse: how TranSend keeps a response in the virtual cache (issue 7): status,
// header fields, body, and what RFC 9111 needs to judge it later (when it was asked for
// and received, the secondary key of its Vary). A partition is a cluster peer, but its
// bytes are parsed as carefully as an origin's: anything malformed is a miss.
#pragma once

#include <boost/beast/http/fields.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace tacc::services {

struct CachedResponse {
  unsigned status = 200;
  boost::beast::http::fields headers;
  std::string body;
  std::chrono::system_clock::time_point request_time, response_time;
  std::string secondary_key;  // tacc_layer::SecondaryKey of the request that fetched it
};

std::string EncodeCachedResponse(const CachedResponse& r);
std::optional<CachedResponse> DecodeCachedResponse(std::string_view bytes);

}  // namespace tacc::services
