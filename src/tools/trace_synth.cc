#include "tools/trace_synth.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>

#include "tools/zipf.h"

namespace tacc::tools {

namespace {

constexpr double kGolden = 0.6180339887498949;  // 1/phi: the most even walk over (0,1)
constexpr double kSqrt2Frac = 0.4142135623730951;

double Frac(double x) { return x - std::floor(x); }

uint64_t Mix64(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

struct OtherKind {
  const char* type;
  const char* ext;
};
constexpr std::array<OtherKind, 4> kOther = {{{"text/css", "css"}, {"application/javascript", "js"}, {"image/png", "png"}, {"application/octet-stream", "bin"}}};

}  // namespace

std::string_view ContentClassName(ContentClass c) {
  switch (c) {
    case ContentClass::kGif:
      return "gif";
    case ContentClass::kHtml:
      return "html";
    case ContentClass::kJpeg:
      return "jpeg";
    case ContentClass::kOther:
      return "other";
    case ContentClass::kError:
      return "error";
  }
  return "other";
}

ObjectCatalog::ObjectCatalog(const SynthOptions& o) {
  const std::array<ContentClass, 4> classes = {ContentClass::kGif, ContentClass::kHtml, ContentClass::kJpeg, ContentClass::kOther};
  const double other = std::max(0.0, 1 - o.gif_share - o.html_share - o.jpeg_share);
  const std::array<double, 4> shares = {o.gif_share, o.html_share, o.jpeg_share, other};
  const std::array<SizeModel, 5> models = {SizeModel::For(ContentClass::kGif), SizeModel::For(ContentClass::kHtml), SizeModel::For(ContentClass::kJpeg),
                                           SizeModel::For(ContentClass::kOther), SizeModel::For(ContentClass::kError)};
  std::array<uint64_t, 4> count{};
  uint64_t images = 0;
  const double offset = static_cast<double>(Mix64(o.seed) >> 11) / 9007199254740992.0;
  objects_.resize(o.objects);
  for (uint64_t i = 0; i < o.objects; ++i) {
    // The class that has fallen furthest behind its share so far: every stretch of
    // ranks gets the mix, popular or not.
    size_t c = 0;
    double worst = -1e300;
    for (size_t k = 0; k < 4; ++k) {
      double behind = shares[k] * static_cast<double>(i + 1) - static_cast<double>(count[k]);
      if (shares[k] > 0 && behind > worst) {
        worst = behind;
        c = k;
      }
    }
    uint64_t j = count[c]++;
    SynthObject& ob = objects_[i];
    ob.cls = classes[c];
    double u = std::clamp(Frac(offset + static_cast<double>(j) * kGolden + 0.1 * static_cast<double>(c)), 1e-9, 1 - 1e-9);
    uint64_t site = Mix64(o.seed ^ (i * 0x9e3779b97f4a7c15ULL)) % std::max<uint64_t>(1, o.sites);
    std::string host = fmt::format("http://s{}.{}", site, o.domain);
    bool image = ob.cls == ContentClass::kGif || ob.cls == ContentClass::kJpeg;
    if (image && Frac(offset + static_cast<double>(images++) * kSqrt2Frac) < o.error_share) {
      ob.bytes = models[4].Quantile(u);
      ob.status = 404;
      ob.type = "text/html";
      ob.url = fmt::format("{}/i{}/{}.{}", host, site, i, ob.cls == ContentClass::kGif ? "gif" : "jpg");
      ob.cls = ContentClass::kError;
      continue;
    }
    ob.bytes = models[c].Quantile(u);
    switch (ob.cls) {
      case ContentClass::kGif:
        ob.type = "image/gif";
        ob.url = fmt::format("{}/i{}/{}.gif", host, site, i);
        break;
      case ContentClass::kJpeg:
        ob.type = "image/jpeg";
        ob.url = fmt::format("{}/i{}/{}.jpg", host, site, i);
        break;
      case ContentClass::kHtml:
        ob.type = "text/html";
        ob.url = fmt::format("{}/p{}/{}.html", host, site, i);
        break;
      default: {
        const auto& k = kOther[j % kOther.size()];
        ob.type = k.type;
        ob.url = fmt::format("{}/f{}/{}.{}", host, site, i, k.ext);
        break;
      }
    }
  }
  Calibrate(o);
}

void ObjectCatalog::Calibrate(const SynthOptions& o) {
  // The means the paper gives are per request, by URL extension (error pages under image
  // names included). A few popular objects take a large share of requests and, laid out
  // evenly, rarely sit in the heavy tail, so the request-weighted mean comes out a few per
  // cent under the catalogue's: scale each class's ordinary objects to make it exact.
  ZipfSampler popularity(std::max<uint64_t>(1, objects_.size()), o.object_zipf);
  const std::array<std::pair<ContentClass, double>, 3> targets = {
      {{ContentClass::kGif, 3428}, {ContentClass::kHtml, 5131}, {ContentClass::kJpeg, 12070}}};
  for (int round = 0; round < 3; ++round) {
    for (const auto& [cls, target] : targets) {
      SizeModel model = SizeModel::For(cls);
      double weight = 0, fixed = 0, scalable = 0;
      for (uint64_t i = 0; i < objects_.size(); ++i) {
        const auto& ob = objects_[i];
        bool same_ext = ob.cls == cls || (ob.cls == ContentClass::kError && ((cls == ContentClass::kGif && ob.url.ends_with(".gif")) ||
                                                                              (cls == ContentClass::kJpeg && ob.url.ends_with(".jpg"))));
        if (!same_ext) continue;
        double w = popularity.Share(i);
        weight += w;
        (ob.cls == cls ? scalable : fixed) += w * static_cast<double>(ob.bytes);
      }
      if (weight <= 0 || scalable <= 0) continue;
      double k = (target * weight - fixed) / scalable;
      if (!(k > 0)) continue;
      for (auto& ob : objects_) {
        if (ob.cls == cls) ob.bytes = std::max<int64_t>(model.min_bytes(), std::llround(static_cast<double>(ob.bytes) * k));
      }
    }
  }
}

void SynthesizeTrace(const SynthOptions& o, const ObjectCatalog& catalog,
                     const std::function<void(int64_t t_us, uint64_t user, const SynthObject& object)>& emit) {
  std::mt19937_64 rng(Mix64(o.seed + 1));
  BurstModel burst(o.burst, Mix64(o.seed + 2));
  ZipfSampler users(std::max<uint64_t>(1, o.users), o.user_zipf);
  ZipfSampler objects(std::max<uint64_t>(1, catalog.size()), o.object_zipf);
  auto counts = burst.Counts(o.requests, rng);
  std::vector<int64_t> offsets;
  std::uniform_int_distribution<int64_t> within(0, 999999);
  for (size_t s = 0; s < counts.size(); ++s) {
    offsets.resize(counts[s]);
    for (auto& x : offsets) x = within(rng);
    std::sort(offsets.begin(), offsets.end());
    for (int64_t off : offsets) {
      uint64_t u = users.Draw(rng);
      uint64_t ob = objects.Draw(rng);
      emit(static_cast<int64_t>(s) * 1000000 + off, u, catalog.at(ob));
    }
  }
}

}  // namespace tacc::tools
