// ClientHints: what a client says about itself (issue 7; paper "adapting to client
// variation": the proxy adapts to the device and the network), turned into task
// arguments for workers that a user's profile can override.
//
// Read: Accept (image/avif, image/webp), Save-Data, ECT and Downlink (network),
// DPR / Sec-CH-DPR and Viewport-Width / Sec-CH-Viewport-Width (screen). Every field read
// is named in `vary`, so that a response shaped by them can say so (Vary), and
// kAcceptCh is what the proxy sends to ask browsers for the hints.
#pragma once

#include <boost/beast/http/fields.hpp>

#include <map>
#include <string>
#include <vector>

namespace tacc::services {

inline constexpr const char* kAcceptCh = "Sec-CH-DPR, Sec-CH-Viewport-Width, ECT, Downlink, Save-Data";
// Every field ClientHintArgs may read, for Vary.
inline constexpr const char* kHintVary = "Accept, Save-Data, ECT, Downlink, DPR, Sec-CH-DPR, Viewport-Width, Sec-CH-Viewport-Width";

// Task arguments from the hints: accept_avif, accept_webp (1), save_data (1),
// network ("slow-2g", "2g", "3g", "4g"), downlink_mbps, dpr, viewport_width, and
// max_width (viewport × dpr). Values are checked; nonsense is ignored.
std::map<std::string, std::string> ClientHintArgs(const boost::beast::http::fields& request);

}  // namespace tacc::services
