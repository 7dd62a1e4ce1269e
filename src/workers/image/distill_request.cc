#include "workers/image/distill_request.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <optional>
#include <string_view>

#include "workers/image/resample.h"

namespace tacc::workers::image {
namespace {

// The value under `name` in `m` as a number within [lo, hi]; nullopt if absent or empty.
Result<std::optional<double>> Number(const std::map<std::string, std::string>& m, const std::string& name, double lo, double hi,
                                     const char* where) {
  auto it = m.find(name);
  if (it == m.end() || it->second.empty()) return std::optional<double>();
  double v = 0;
  const std::string& s = it->second;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || !std::isfinite(v) || v < lo || v > hi)
    return Status::InvalidArgument(fmt::format("{} {}={} is not a number within {}..{}", where, name, s, lo, hi));
  return std::optional<double>(v);
}

// "x,y,w,h": four whole numbers, x and y at least 0, w and h at least 1.
std::optional<DistillRequest::Region> ParseRegion(const std::string& s) {
  int v[4] = {};
  const char* p = s.data();
  const char* end = s.data() + s.size();
  for (int i = 0; i < 4; ++i) {
    if (i > 0) {
      if (p == end || *p != ',') return std::nullopt;
      ++p;
    }
    auto [next, ec] = std::from_chars(p, end, v[i]);
    if (ec != std::errc() || next == p) return std::nullopt;
    p = next;
  }
  if (p != end || v[0] < 0 || v[1] < 0 || v[2] < 1 || v[3] < 1) return std::nullopt;
  return DistillRequest::Region{v[0], v[1], v[2], v[3]};
}

// A colour: white, black, or six hex digits with an optional '#'.
Result<std::optional<Rgb>> Colour(const std::map<std::string, std::string>& m, const char* name, const char* where) {
  auto it = m.find(name);
  if (it == m.end() || it->second.empty()) return std::optional<Rgb>();
  std::string_view s = it->second;
  if (s == "white") return std::optional<Rgb>(Rgb{255, 255, 255});
  if (s == "black") return std::optional<Rgb>(Rgb{0, 0, 0});
  if (!s.empty() && s[0] == '#') s.remove_prefix(1);
  unsigned v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v, 16);
  if (s.size() != 6 || ec != std::errc() || p != s.data() + s.size())
    return Status::InvalidArgument(fmt::format("{} {}={} is not white, black or a RRGGBB colour", where, name, it->second));
  return std::optional<Rgb>(Rgb{static_cast<uint8_t>(v >> 16), static_cast<uint8_t>(v >> 8), static_cast<uint8_t>(v)});
}

}  // namespace

Result<std::string> RequiredType(const std::map<std::string, std::string>& args, const std::vector<std::string>& allowed, std::string_view worker) {
  auto it = args.find("to");
  if (it == args.end() || it->second.empty()) return std::string();
  for (const auto& a : allowed)
    if (it->second == a) return a;
  std::string list;
  for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
  return Status::InvalidArgument(fmt::format("the {} worker makes {}, not to={}", worker, list, it->second.substr(0, 64)));
}

int DistillRequest::gray_levels() const {
  int levels = grays;
  if (bpp > 0) levels = levels > 0 ? std::min(levels, 1 << bpp) : 1 << bpp;
  return levels;
}

Result<DistillRequest> ParseDistillRequest(const std::map<std::string, std::string>& args, const std::map<std::string, std::string>& profile,
                                           const DistillDefaults& defaults) {
  DistillRequest r;
  r.scale = defaults.scale;
  r.quality = defaults.quality;
  auto pq = Number(profile, "quality", 1, 100, "profile");
  auto aq = Number(args, "q", 1, 100, "argument");
  auto aquality = Number(args, "quality", 1, 100, "argument");
  auto w = Number(args, "w", 1, 16384, "argument"), h = Number(args, "h", 1, 16384, "argument");
  auto scale = Number(args, "scale", 0.01, 1, "argument");
  auto hint_width = Number(args, "max_width", 1, 65536, "argument");
  auto profile_width = Number(profile, "max_width", 1, 65536, "profile");
  for (const auto* v : {&pq, &aq, &aquality, &w, &h, &scale, &hint_width, &profile_width})
    if (!v->ok()) return v->status();
  if (*pq) r.quality = static_cast<int>(**pq);
  if (*aquality) r.quality = static_cast<int>(**aquality);  // a rule's quality= ...
  if (*aq) r.quality = static_cast<int>(**aq);              // ... under the URL API's q:
  if (*w) r.box_width = static_cast<int>(**w);
  if (*h) r.box_height = static_cast<int>(**h);
  if (*scale) r.scale = **scale;
  int cap = 0;
  for (const auto* v : {&hint_width, &profile_width})
    if (**v) cap = cap == 0 ? static_cast<int>(***v) : std::min(cap, static_cast<int>(***v));
  r.max_width = cap;
  auto on = [](const std::map<std::string, std::string>& m, const char* k) {
    auto it = m.find(k);
    return it != m.end() && (it->second == "1" || it->second == "true" || it->second == "on");
  };
  r.gray = on(args, "gray") || on(profile, "gray");
  r.original = on(args, "orig");
  if (auto c = args.find("crop"); c != args.end() && !c->second.empty()) {
    auto region = ParseRegion(c->second);
    if (!region) return Status::InvalidArgument(fmt::format("argument crop={} is not x,y,w,h (whole numbers, w and h at least 1)", c->second.substr(0, 64)));
    r.crop = *region;
    if (!*scale) r.scale = 1;  // a refinement: full resolution unless asked otherwise
  }
  if (auto z = args.find("zoom"); z != args.end() && !z->second.empty()) {
    // x,y,dw: the same parser, with a dummy fourth number.
    auto p = ParseRegion(z->second + ",1");
    if (!p || p->width < 1 || p->width > 100000) return Status::InvalidArgument(fmt::format("argument zoom={} is not x,y,display_width", z->second.substr(0, 64)));
    if (r.crop) return Status::InvalidArgument("crop and zoom are two ways to say one thing: give one");
    r.zoom = DistillRequest::Zoom{p->x, p->y, p->width};
    if (!*scale) r.scale = 1;
    r.quality = std::max(r.quality, 75);
  }
  r.flatten = on(args, "flatten") || on(profile, "flatten");
  // Small devices: the task's args over the profile.
  auto ag = Number(args, "grays", 2, 256, "argument"), pg = Number(profile, "grays", 2, 256, "profile");
  auto ab = Number(args, "bpp", 1, 2, "argument"), pb = Number(profile, "bpp", 1, 2, "profile");
  for (const auto* v : {&ag, &pg, &ab, &pb}) {
    if (!v->ok()) return v->status();
    if (**v && std::floor(***v) != ***v) return Status::InvalidArgument(fmt::format("grays and bpp are whole numbers, not {}", ***v));
  }
  if (*pg) r.grays = static_cast<int>(**pg);
  if (*ag) r.grays = static_cast<int>(**ag);
  if (*pb) r.bpp = static_cast<int>(**pb);
  if (*ab) r.bpp = static_cast<int>(**ab);
  if (r.gray_levels() > 0) r.gray = true;
  auto abg = Colour(args, "background", "argument"), pbg = Colour(profile, "background", "profile");
  for (const auto* v : {&abg, &pbg})
    if (!v->ok()) return v->status();
  if (*pbg) r.background = **pbg;
  if (*abg) r.background = **abg;
  return r;
}

Size TargetSize(Size upright, const DistillRequest& r) {
  if (r.crop) upright = Size{r.crop->width, r.crop->height};
  const double w = std::max(1, upright.width), h = std::max(1, upright.height);
  double f = 1;
  if (r.box_width > 0 || r.box_height > 0) {
    if (r.box_width > 0) f = std::min(f, r.box_width / w);
    if (r.box_height > 0) f = std::min(f, r.box_height / h);
  } else {
    f = std::min(1.0, r.scale);
    if (r.max_width > 0) f = std::min(f, r.max_width / w);
  }
  return Size{std::max(1, static_cast<int>(std::lround(w * f))), std::max(1, static_cast<int>(std::lround(h * f)))};
}

Status CheckCrop(Size upright, const DistillRequest& r) {
  if (!r.crop) return Status::Ok();
  const auto& c = *r.crop;
  if (c.width < 1 || c.height < 1 || c.x < 0 || c.y < 0 || int64_t{c.x} + c.width > upright.width || int64_t{c.y} + c.height > upright.height)
    return Status::InvalidArgument(fmt::format("crop={},{},{},{} is not inside the {}x{} picture (upright pixels)", c.x, c.y, c.width, c.height,
                                               upright.width, upright.height));
  return Status::Ok();
}

Status ResolveRegion(Size upright, DistillRequest& r) {
  if (r.zoom && upright.width > 0 && upright.height > 0) {
    const double f = static_cast<double>(upright.width) / r.zoom->display_width;
    const int w = std::max(1, (upright.width + 1) / 2), h = std::max(1, (upright.height + 1) / 2);
    const int cx = static_cast<int>(std::lround(r.zoom->x * f)), cy = static_cast<int>(std::lround(r.zoom->y * f));
    const int x = std::clamp(cx - w / 2, 0, upright.width - w), y = std::clamp(cy - h / 2, 0, upright.height - h);
    r.crop = DistillRequest::Region{x, y, w, h};
    r.zoom.reset();
  }
  return CheckCrop(upright, r);
}

Size DecodeSize(Size upright, Size target, const DistillRequest& r) {
  if (!r.crop) return target;
  // Each side of the whole picture scaled by the larger of the region's two factors,
  // rounded up: the region then spans at least `target` decoded pixels.
  const double f = std::max(static_cast<double>(target.width) / r.crop->width, static_cast<double>(target.height) / r.crop->height);
  return Size{std::min(upright.width, static_cast<int>(std::ceil(upright.width * f - 1e-9))),
              std::min(upright.height, static_cast<int>(std::ceil(upright.height * f - 1e-9)))};
}

Raster CropRegion(Raster pixels, Size upright, const DistillRequest& r) {
  if (!r.crop || upright.width <= 0 || upright.height <= 0) return pixels;
  const double sx = static_cast<double>(pixels.width) / upright.width, sy = static_cast<double>(pixels.height) / upright.height;
  const auto& c = *r.crop;
  const int x0 = std::clamp(static_cast<int>(std::floor(c.x * sx + 1e-9)), 0, pixels.width - 1);
  const int y0 = std::clamp(static_cast<int>(std::floor(c.y * sy + 1e-9)), 0, pixels.height - 1);
  const int x1 = std::clamp(static_cast<int>(std::ceil((c.x + c.width) * sx - 1e-9)), x0 + 1, pixels.width);
  const int y1 = std::clamp(static_cast<int>(std::ceil((c.y + c.height) * sy - 1e-9)), y0 + 1, pixels.height);
  return Crop(pixels, x0, y0, x1 - x0, y1 - y0);
}

}  // namespace tacc::workers::image
