#include "services/transend/refinement.h"

#include <fmt/format.h>

#include <boost/url/encode.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>
#include <boost/url/url.hpp>

#include <charconv>

#include "common/text.h"

namespace tacc::services {
namespace {

std::optional<int> Int(std::string_view s, int lo, int hi) {
  int v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v < lo || v > hi) return std::nullopt;
  return v;
}

}  // namespace

std::optional<std::string> OwnPath(std::string_view target) {
  if (target.starts_with(kOwnPathPrefix)) return std::string(target);
  if (target.starts_with("/")) return std::nullopt;
  auto u = boost::urls::parse_absolute_uri(target);
  if (!u || !u->encoded_path().starts_with(kOwnPathPrefix)) return std::nullopt;
  std::string out(u->encoded_path());
  if (u->has_query()) out += "?" + std::string(u->encoded_query());
  return out;
}

Result<RefineRequest> ParseRefineRequest(std::string_view own_path) {
  RefineRequest r;
  // An image map click appends "?x,y" to the link, query or not: split it off first.
  std::string_view path = own_path;
  std::optional<std::pair<int, int>> click;
  if (auto first = path.find('?'); first != std::string_view::npos) {
    if (auto second = path.find('?', first + 1); second != std::string_view::npos) {
      std::string_view xy = path.substr(second + 1);
      auto comma = xy.find(',');
      auto x = Int(xy.substr(0, comma), 0, 100000), y = comma == std::string_view::npos ? std::nullopt : Int(xy.substr(comma + 1), 0, 100000);
      if (!x || !y) return Status::InvalidArgument("the click position must be '?x,y' in whole pixels");
      click = std::make_pair(*x, *y);
      path = path.substr(0, second);
    }
  }
  auto parsed = boost::urls::parse_origin_form(path);
  if (!parsed) return Status::InvalidArgument("not a path and query");
  std::string p(parsed->path());
  if (p == kRefinePagePath) r.page = true;
  else if (p != kOriginalPath) return Status::InvalidArgument("no such page (/_tacc/orig, /_tacc/refine)");
  std::optional<int> zoom_width;
  for (auto param : parsed->params()) {
    if (param.key == "u") r.url = param.value;
    else if (param.key == "zoom") {
      zoom_width = Int(param.value, 1, 10000);
      if (!zoom_width) return Status::InvalidArgument("zoom must be the width the image was shown at, 1..10000");
    }
  }
  if (r.url.empty()) return Status::InvalidArgument("which image? (u=<absolute URL>)");
  auto u = boost::urls::parse_absolute_uri(r.url);
  if (!u || (u->scheme() != "http" && u->scheme() != "https") || u->host().empty())
    return Status::InvalidArgument("u must be an absolute http:// or https:// URL");
  if (click && !zoom_width) return Status::InvalidArgument("a click position needs zoom=<display width>");
  if (zoom_width) {
    if (!click) return Status::InvalidArgument("zoom needs the click position (?x,y), as an image map sends it");
    if (r.page) return Status::InvalidArgument("zoom goes to /_tacc/orig");
    r.zoom = RefineRequest::Zoom{click->first, click->second, *zoom_width};
  }
  return r;
}

std::map<std::string, std::string> ZoomArgs(const RefineRequest::Zoom& zoom) {
  return {{"zoom", fmt::format("{},{},{}", zoom.x, zoom.y, zoom.display_width)}};
}

std::string OriginalLink(std::string_view url) {
  return std::string(kOriginalPath) + "?u=" + boost::urls::encode(url, boost::urls::unreserved_chars);
}

std::string RenderRefinePage(const std::string& url) {
  std::string orig = OriginalLink(url);
  return fmt::format(R"(<!doctype html>
<html><head><meta charset="utf-8"><title>Refine an image</title></head><body>
<h1>Refine</h1>
<p>Click on the picture to see that part of it at full resolution, or <a id="tacc-original" href="{0}">get the original</a>.</p>
<p><a id="tacc-zoom" href="{0}&amp;zoom={1}"><img src="{2}" width="{1}" ismap alt="the distilled image"></a></p>
<p><a href="/_tacc/prefs">Your preferences</a></p>
</body></html>
)",
                     HtmlEscape(orig), kRefineDisplayWidth, HtmlEscape(url));
}

}  // namespace tacc::services
