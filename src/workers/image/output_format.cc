#include "workers/image/output_format.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>

#include "workers/image/jpeg_codec.h"
#include "workers/image/webp_codec.h"

namespace tacc::workers::image {
namespace {

bool Flag(const std::map<std::string, std::string>& m, const char* k) {
  auto it = m.find(k);
  return it != m.end() && (it->second == "1" || it->second == "true" || it->second == "on");
}

Result<int> Integer(const std::map<std::string, std::string>& m, const char* name, int dflt, int lo, int hi) {
  auto it = m.find(name);
  if (it == m.end()) return dflt;
  int v = 0;
  const std::string& s = it->second;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || p != s.data() + s.size() || v < lo || v > hi)
    return Status::InvalidArgument(fmt::format("{} must be a whole number within {}..{}, not '{}'", name, lo, hi, s));
  return v;
}

}  // namespace

std::string_view FormatName(OutputFormat f) {
  switch (f) {
    case OutputFormat::kWebp:
      return "webp";
    case OutputFormat::kAvif:
      return "avif";
    case OutputFormat::kJpeg:
      break;
  }
  return "jpeg";
}

std::string_view MimeType(OutputFormat f) {
  switch (f) {
    case OutputFormat::kWebp:
      return "image/webp";
    case OutputFormat::kAvif:
      return "image/avif";
    case OutputFormat::kJpeg:
      break;
  }
  return "image/jpeg";
}

Result<OutputSettings> ParseOutputSettings(const std::map<std::string, std::string>& a) {
  OutputSettings s;
  auto avif = a.find("avif");
  if (avif != a.end()) {
    if (avif->second == "1" || avif->second == "true" || avif->second == "on")
      s.avif = true;
    else if (avif->second == "0" || avif->second == "false" || avif->second == "off")
      s.avif = false;
    else
      return Status::InvalidArgument(fmt::format("avif must be 1 or 0, not '{}'", avif->second));
  }
  auto speed = Integer(a, "avif_speed", s.avif_speed, 0, 10), method = Integer(a, "webp_method", s.webp_method, 0, 6);
  if (!speed.ok()) return speed.status();
  if (!method.ok()) return method.status();
  s.avif_speed = *speed;
  s.webp_method = *method;
  if (auto codec = a.find("avif_codec"); codec != a.end()) {
    auto c = ParseAvifCodec(codec->second);
    if (!c.ok()) return c.status();
    s.avif_codec = *c;
  }
  return s;
}

Result<OutputChoice> ChooseOutput(const std::map<std::string, std::string>& args, const std::map<std::string, std::string>& profile,
                                  const OutputSettings& settings, int quality) {
  OutputChoice c;
  c.quality = quality;
  c.settings = settings;
  std::string requested = "auto", source = "default";
  if (auto f = args.find("f"); f != args.end() && !f->second.empty()) {
    requested = f->second;
    source = "f";
  } else if (auto g = args.find("format"); g != args.end() && !g->second.empty()) {
    requested = g->second;
    source = "format";
  } else if (auto to = args.find("to"); to != args.end() && to->second.starts_with("image/")) {
    // A planned chain's step must make this type (src/tacc/chain_planner.h).
    requested = to->second.substr(6);
    source = "to";
  } else if (auto p = profile.find("format"); p != profile.end() && !p->second.empty()) {
    requested = p->second;
    source = "profile";
    if (requested != "auto" && requested != "jpeg" && requested != "webp" && requested != "avif") requested = "auto";
  }
  if (requested != "auto" && requested != "jpeg" && requested != "webp" && requested != "avif" && requested != "png" && requested != "gif")
    return Status::InvalidArgument(
        fmt::format("argument {}={} is not a format (auto, jpeg, webp, avif, png, gif)", source, requested.substr(0, 32)));
  const bool avif = Flag(args, "accept_avif"), webp = Flag(args, "accept_webp");
  if (requested == "auto") {
    if (avif && settings.avif) {
      c.format = OutputFormat::kAvif;
      c.why = "auto: the client accepts avif";
    } else if (webp) {
      c.format = OutputFormat::kWebp;
      c.why = avif ? "auto: the client accepts webp (avif is off for this worker class)" : "auto: the client accepts webp";
    } else {
      c.why = "auto: the client accepts neither avif nor webp";
    }
  } else if (requested == "avif") {
    if (avif && settings.avif) c.format = OutputFormat::kAvif;
    c.why = !avif ? "avif asked (" + source + ") but the client does not accept it"
                  : (settings.avif ? "avif asked (" + source + ")" : "avif asked (" + source + ") but it is off for this worker class");
  } else if (requested == "webp") {
    if (webp) c.format = OutputFormat::kWebp;
    c.why = webp ? "webp asked (" + source + ")" : "webp asked (" + source + ") but the client does not accept it";
  } else if (requested == "jpeg") {
    c.why = "jpeg asked (" + source + ")";
  } else {
    c.why = requested + " asked (" + source + "): photos are sent as jpeg";
  }
  return c;
}

int WebpQuality(int jpeg_quality) { return std::clamp(jpeg_quality, 1, 100); }

int AvifQuantizer(int jpeg_quality) {
  // Fitted to equal SSIM with libjpeg-turbo over the small corpus (bench/format_compare):
  // q25 -> 42, q50 -> 35, q75 -> 28 lie on one line; above 75 it runs down to 0 at 100.
  const int q = std::clamp(jpeg_quality, 1, 100);
  const double quantizer = q <= 75 ? 49 - 0.28 * q : 28.0 * (100 - q) / 25;
  return std::clamp(static_cast<int>(std::lround(quantizer)), 0, 63);
}

Result<EncodedImage> EncodeFor(const Raster& raster, const OutputChoice& choice) {
  EncodedImage out;
  Result<std::string> chosen = std::string();
  if (choice.format == OutputFormat::kWebp) {
    WebpEncodeOptions o;
    o.quality = WebpQuality(choice.quality);
    o.method = choice.settings.webp_method;
    o.icc = choice.icc;
    chosen = EncodeWebp(raster, o);
  } else if (choice.format == OutputFormat::kAvif) {
    AvifEncodeOptions o;
    o.quantizer = AvifQuantizer(choice.quality);
    o.speed = choice.settings.avif_speed;
    o.codec = choice.settings.avif_codec;
    o.icc = choice.icc;
    chosen = EncodeAvif(raster, o);
  }
  if (choice.format != OutputFormat::kJpeg && chosen.ok() && !choice.compare_with_jpeg) {
    out.bytes = std::move(*chosen);
    out.format = choice.format;
    out.mime_type = MimeType(choice.format);
    return out;
  }
  JpegEncodeOptions j;
  j.quality = choice.quality;
  j.icc = choice.icc;
  auto jpeg = EncodeJpeg(raster, j);
  if (!jpeg.ok()) return jpeg.status();
  if (choice.format != OutputFormat::kJpeg) {
    if (!chosen.ok()) {
      out.fallback = fmt::format("{} failed: {}", FormatName(choice.format), chosen.status().message());
    } else if (chosen->size() >= jpeg->size()) {
      out.fallback =
          fmt::format("{} ({} bytes) was not smaller than jpeg ({} bytes)", FormatName(choice.format), chosen->size(), jpeg->size());
    } else {
      out.bytes = std::move(*chosen);
      out.format = choice.format;
      out.mime_type = MimeType(choice.format);
      return out;
    }
  }
  out.bytes = std::move(*jpeg);
  return out;
}

}  // namespace tacc::workers::image
