#include "tools/trace_corpus.h"

#include <functional>

#include "tools/page_maker.h"
#include "tools/trace_stats.h"

namespace tacc::tools {

namespace {

uint64_t Hash(std::string_view s) { return std::hash<std::string_view>{}(s) * 0x9e3779b97f4a7c15ULL; }

std::string_view HostOf(std::string_view url) {
  auto scheme = url.find("://");
  if (scheme == std::string_view::npos) return "";
  auto rest = url.substr(scheme + 3);
  return rest.substr(0, rest.find('/'));
}

// A plausible size for a URL the log gave none for: the class's mean in the paper.
int64_t DefaultBytes(const std::string& cls) {
  if (cls == "gif") return 3428;
  if (cls == "html") return 5131;
  if (cls == "jpeg") return 12070;
  return 8000;
}

constexpr size_t kMaxRefsPerSite = 64;

}  // namespace

std::string_view TraceCorpus::PathOf(std::string_view target) {
  auto scheme = target.find("://");
  if (scheme == std::string_view::npos) return target;
  auto path = target.find('/', scheme + 3);
  return path == std::string_view::npos ? std::string_view("/") : target.substr(path);
}

TraceCorpus::TraceCorpus(const Trace& trace, const CorpusImages* images) : images_(images) {
  std::unordered_map<std::string, uint32_t> site_index;
  for (const auto& r : trace.records) {
    std::string path(PathOf(r.url));
    if (entries_.count(path)) continue;
    auto [it, fresh] = site_index.emplace(std::string(HostOf(r.url)), static_cast<uint32_t>(sites_.size()));
    if (fresh) sites_.emplace_back();
    Entry e;
    e.site = it->second;
    std::string cls = ClassOfUrl(r.url);
    e.status = r.status >= 400 ? r.status : 200;  // a logged 304 or 206 still names a whole object
    e.type = !r.type.empty() ? r.type
             : cls == "gif"  ? "image/gif"
             : cls == "jpeg" ? "image/jpeg"
             : cls == "html" ? "text/html"
                             : "application/octet-stream";
    // A 304 or a redirect logged no body of the object: it gets its class's mean.
    e.bytes = r.bytes < 0 || (r.status >= 300 && r.status < 400) ? DefaultBytes(cls) : r.bytes;
    Site& site = sites_[e.site];
    if (e.status == 200 && (e.type == "image/gif" || e.type == "image/jpeg") && site.images.size() < kMaxRefsPerSite) site.images.push_back(path);
    if (e.status == 200 && e.type.rfind("text/html", 0) == 0 && site.pages.size() < kMaxRefsPerSite) site.pages.push_back(path);
    entries_.emplace(std::move(path), std::move(e));
  }
}

std::optional<CorpusAnswer> TraceCorpus::Answer(std::string_view target) const {
  std::string path(PathOf(target));
  auto it = entries_.find(path);
  if (it == entries_.end()) return std::nullopt;
  const Entry& e = it->second;
  CorpusAnswer a;
  a.status = e.status;
  a.type = e.type;
  uint64_t h = Hash(path);
  if (e.status >= 400) {
    a.type = "text/html";
    a.body = MakeErrorPage(e.bytes, path);
  } else if (e.type == "image/jpeg" && images_) {
    a.body = images_->Make(PictureFormat::kJpeg, e.bytes, h);
  } else if (e.type == "image/gif" && images_) {
    a.body = images_->Make(PictureFormat::kGif, e.bytes, h);
  } else if (e.type == "image/png" && images_) {
    a.body = images_->Make(PictureFormat::kPng, e.bytes, h);
  } else if (e.type.rfind("text/html", 0) == 0) {
    const Site& s = sites_[e.site];
    // A handful of the site's images and pages, chosen by the page's hash.
    std::vector<std::string> imgs, pages;
    for (size_t k = 0; k < std::min<size_t>(s.images.size(), 1 + static_cast<size_t>(e.bytes / 1500)); ++k) imgs.push_back(s.images[(h + k * 7919) % s.images.size()]);
    for (size_t k = 0; k < std::min<size_t>(s.pages.size(), 4); ++k) pages.push_back(s.pages[(h / 3 + k * 104729) % s.pages.size()]);
    a.body = MakeHtmlPage(e.bytes, h, imgs, pages);
  } else if (e.type == "text/css") {
    a.body = MakeStyleSheet(e.bytes, h);
  } else if (e.type.find("javascript") != std::string::npos) {
    a.body = MakeScript(e.bytes, h);
  } else {
    a.body = MakeBinary(e.bytes, h);
  }
  return a;
}

}  // namespace tacc::tools
