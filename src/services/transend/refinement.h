// Refinement (paper "adapting to client variation", Figure 1; issue 8): a user who got a
// distilled image asks for more of it, through paths the front end serves itself:
//
//   /_tacc/orig?u=<URL>             the original, untouched (what the HTML munger's
//                                   [orig] link next to each distilled image asks for)
//   /_tacc/refine?u=<URL>           a page showing the distilled image as a server-side
//                                   image map (ismap) and a link to the original
//   /_tacc/orig?u=<URL>&zoom=<W>?<X>,<Y>
//                                   a click at (X, Y) on that image, shown W pixels wide:
//                                   the region around it at full resolution and higher
//                                   quality (the distiller's zoom arg)
//
// <URL> is absolute (http or https), percent-encoded. In forward-proxy use the browser
// sends these as absolute-form requests to whatever host the page came from, so the
// front end answers any request whose path starts with /_tacc/ itself (such paths of an
// origin are not reachable through the proxy).
//
// Pure logic: parsing and the page; the service fetches.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"

namespace tacc::services {

inline constexpr std::string_view kOwnPathPrefix = "/_tacc/";
inline constexpr std::string_view kOriginalPath = "/_tacc/orig";
inline constexpr std::string_view kRefinePagePath = "/_tacc/refine";
inline constexpr int kRefineDisplayWidth = 480;  // the refine page's image width (CSS pixels)

// The path and query of a request for one of the front end's own pages: the target
// itself if it is origin-form, the path?query of an absolute-form target; none if the
// path does not start with /_tacc/.
std::optional<std::string> OwnPath(std::string_view target);

struct RefineRequest {
  std::string url;    // absolute http(s) URL of the image
  bool page = false;  // /_tacc/refine: the page, not the image
  // A click on the refine page's image map: where, on an image shown this wide.
  struct Zoom {
    int x = 0, y = 0, display_width = 0;
  };
  std::optional<Zoom> zoom;
};

// InvalidArgument says what is wrong (no u, not an absolute http(s) URL, a bad zoom).
Result<RefineRequest> ParseRefineRequest(std::string_view own_path);

// The task args a zoom gives the image distiller: zoom=x,y,display_width (it crops the
// region around the click, half the picture's width and height, at full resolution).
std::map<std::string, std::string> ZoomArgs(const RefineRequest::Zoom& zoom);

// The refine page for `url` (HTML-escaped everywhere).
std::string RenderRefinePage(const std::string& url);

// "/_tacc/orig?u=<percent-encoded url>" (for links).
std::string OriginalLink(std::string_view url);

}  // namespace tacc::services
