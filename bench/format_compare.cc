// JPEG vs WebP vs AVIF output of the image distillers (issue 8): for each picture of the
// corpus, the paper's workload (decode, halve each side, re-encode at quality 25), then
// the same raster encoded by each format at the mapped quality (output_format.h). Per
// format: mean output bytes, mean encode CPU time per image (each encode timed over
// --repeat runs on one thread), and mean SSIM of the decoded output against the raster
// (luma, 8x8 windows), so that bytes are compared at a known quality. A picture an
// encoder refuses counts as the JPEG the worker would send instead (column "refused").
//
// Same inputs as bench/jpeg_worker: the corpus manifest (bench/image_corpus.sh) or files.
#include <sys/resource.h>

#include <avif/avif.h>
#include <webp/decode.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

#include "bench_corpus.h"
#include "workers/image/avif_codec.h"
#include "workers/image/jpeg_codec.h"
#include "workers/image/output_format.h"
#include "workers/image/resample.h"
#include "workers/image/webp_codec.h"

namespace {

namespace fs = std::filesystem;
using namespace tacc::workers::image;

constexpr const char* kUsage = R"(Usage: format_compare [options] [FILE.jpg ...]

Encodes each picture (halved, as the jpeg worker does by default) as JPEG, WebP and AVIF
at one JPEG-style quality mapped per encoder; prints bytes, encode time and SSIM per format.

  --corpus DIR     corpus directory (default bench/corpus)
  --set NAME       small | large | all (default small)
  --q Q            JPEG-style quality 1..100 (default 25: the paper's workload)
  --scale S        of each side (default 0.5)
  --repeat N       encodes per picture and format, for the timing (default 3)
  --quick          only JPEG, WebP method 4 and AVIF aom speed 8 (the defaults)
  --webp-q N       WebP quality instead of the mapped one (to fit the mapping)
  --avif-qz N      AVIF quantizer instead of the mapped one (to fit the mapping)
  -h, --help       this text
)";

double CpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) + (u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

std::vector<double> Luma(const Raster& r) {
  std::vector<double> y(static_cast<size_t>(r.width) * r.height);
  for (int j = 0; j < r.height; ++j)
    for (int i = 0; i < r.width; ++i) {
      const uint8_t* p = r.row(j) + static_cast<size_t>(i) * r.channels;
      y[static_cast<size_t>(j) * r.width + i] = r.channels == 1 ? p[0] : 0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2];
    }
  return y;
}

// Mean SSIM of luma over 8x8 windows (stride 4), constants of Wang et al. 2004.
double Ssim(const Raster& a, const Raster& b) {
  if (a.width != b.width || a.height != b.height) return 0;
  const auto ya = Luma(a), yb = Luma(b);
  const double c1 = 6.5025, c2 = 58.5225;  // (0.01*255)^2, (0.03*255)^2
  double sum = 0;
  int n = 0;
  for (int y = 0; y + 8 <= a.height; y += 4)
    for (int x = 0; x + 8 <= a.width; x += 4) {
      double ma = 0, mb = 0, va = 0, vb = 0, cov = 0;
      for (int j = 0; j < 8; ++j)
        for (int i = 0; i < 8; ++i) {
          ma += ya[static_cast<size_t>(y + j) * a.width + x + i];
          mb += yb[static_cast<size_t>(y + j) * a.width + x + i];
        }
      ma /= 64;
      mb /= 64;
      for (int j = 0; j < 8; ++j)
        for (int i = 0; i < 8; ++i) {
          const double da = ya[static_cast<size_t>(y + j) * a.width + x + i] - ma,
                       db = yb[static_cast<size_t>(y + j) * a.width + x + i] - mb;
          va += da * da;
          vb += db * db;
          cov += da * db;
        }
      va /= 63;
      vb /= 63;
      cov /= 63;
      sum += ((2 * ma * mb + c1) * (2 * cov + c2)) / ((ma * ma + mb * mb + c1) * (va + vb + c2));
      ++n;
    }
  return n ? sum / n : 0;
}

Raster FromWebp(const std::string& s) {
  Raster r;
  uint8_t* px = WebPDecodeRGB(reinterpret_cast<const uint8_t*>(s.data()), s.size(), &r.width, &r.height);
  if (px) {
    r.pixels.assign(px, px + static_cast<size_t>(r.width) * r.height * 3);
    WebPFree(px);
  }
  return r;
}

Raster FromAvif(const std::string& s) {
  Raster r;
  avifDecoder* dec = avifDecoderCreate();
  avifImage* image = avifImageCreateEmpty();
  if (avifDecoderReadMemory(dec, image, reinterpret_cast<const uint8_t*>(s.data()), s.size()) == AVIF_RESULT_OK) {
    avifRGBImage rgb;
    avifRGBImageSetDefaults(&rgb, image);
    rgb.format = AVIF_RGB_FORMAT_RGB;
    rgb.depth = 8;
    r.width = static_cast<int>(image->width);
    r.height = static_cast<int>(image->height);
    r.pixels.resize(static_cast<size_t>(r.width) * r.height * 3);
    rgb.pixels = r.pixels.data();
    rgb.rowBytes = static_cast<uint32_t>(r.width) * 3;
    if (avifImageYUVToRGB(image, &rgb) != AVIF_RESULT_OK) r = Raster{};
  }
  avifImageDestroy(image);
  avifDecoderDestroy(dec);
  return r;
}

struct Format {
  std::string name;
  std::function<tacc::Result<std::string>(const Raster&)> encode;
  std::function<Raster(const std::string&)> decode;
  double bytes = 0, cpu_s = 0, ssim = 0;
  int images = 0;
  int failed = 0;  // the encoder refused the picture (SVT-AV1: under 64 pixels a side); counted as the JPEG
};

}  // namespace

int main(int argc, char** argv) {
  std::string corpus = "bench/corpus", set = "small";
  int q = 25, repeat = 3;
  double scale = 0.5;
  bool quick = false;
  int webp_q = -1, avif_qz = -1;
  std::vector<std::string> files;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::cerr << a << " needs a value\n" << kUsage;
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "-h" || a == "--help") {
      std::cout << kUsage;
      return 0;
    } else if (a == "--corpus") {
      corpus = next();
    } else if (a == "--set") {
      set = next();
    } else if (a == "--q") {
      q = std::atoi(next().c_str());
    } else if (a == "--scale") {
      scale = std::atof(next().c_str());
    } else if (a == "--repeat") {
      repeat = std::max(1, std::atoi(next().c_str()));
    } else if (a == "--quick") {
      quick = true;
    } else if (a == "--webp-q") {
      webp_q = std::atoi(next().c_str());
    } else if (a == "--avif-qz") {
      avif_qz = std::atoi(next().c_str());
    } else if (!a.empty() && a[0] == '-') {
      std::cerr << "unknown option " << a << "\n" << kUsage;
      return 2;
    } else {
      files.push_back(a);
    }
  }
  if (files.empty()) files = tacc::bench::CorpusFiles(corpus, set);
  if (files.empty()) {
    std::cerr << "no inputs (give files, or build the corpus: bench/image_corpus.sh)\n";
    return 2;
  }

  auto jpeg_decode = [](const std::string& s) {
    auto d = DecodeJpeg(s, ImageLimits{}, [](Size z) { return z; });
    return d.ok() ? ApplyOrientation(std::move(d->raster), d->orientation) : Raster{};
  };
  if (webp_q < 0) webp_q = WebpQuality(q);
  if (avif_qz < 0) avif_qz = AvifQuantizer(q);
  std::vector<Format> formats;
  formats.push_back({"jpeg (libjpeg-turbo)",
                     [q](const Raster& r) {
                       JpegEncodeOptions o;
                       o.quality = q;
                       return EncodeJpeg(r, o);
                     },
                     jpeg_decode});
  for (int method : quick ? std::vector<int>{4} : std::vector<int>{0, 4, 6})
    formats.push_back({"webp method " + std::to_string(method),
                       [webp_q, method](const Raster& r) {
                         WebpEncodeOptions o;
                         o.quality = webp_q;
                         o.method = method;
                         return EncodeWebp(r, o);
                       },
                       FromWebp});
  struct Av {
    const char* codec;
    int speed;
  };
  const std::vector<Av> avifs = quick ? std::vector<Av>{{"aom", 8}} : std::vector<Av>{{"aom", 6},    {"aom", 8}, {"aom", 10}, {"rav1e", 8},
                                                                                      {"rav1e", 10}, {"svt", 8}, {"svt", 10}};
  for (const auto& av : avifs) {
    auto codec = ParseAvifCodec(av.codec);
    if (!codec.ok()) continue;
    formats.push_back({std::string("avif ") + av.codec + " speed " + std::to_string(av.speed),
                       [avif_qz, c = *codec, speed = av.speed](const Raster& r) {
                         AvifEncodeOptions o;
                         o.quantizer = avif_qz;
                         o.speed = speed;
                         o.codec = c;
                         return EncodeAvif(r, o);
                       },
                       FromAvif});
  }

  for (const auto& path : files) {
    const std::string bytes = tacc::bench::ReadWholeFile(path);
    Size target;
    auto d = DecodeJpeg(bytes, ImageLimits{}, [&](Size up) {
      target =
          Size{std::max(1, static_cast<int>(std::lround(up.width * scale))), std::max(1, static_cast<int>(std::lround(up.height * scale)))};
      return target;
    });
    if (!d.ok()) {
      std::cerr << path << ": " << d.status().ToString() << "\n";
      return 1;
    }
    Raster raster = ResizeArea(ApplyOrientation(std::move(d->raster), d->orientation), target.width, target.height);
    double jpeg_bytes = 0, jpeg_cpu = 0, jpeg_ssim = 0;
    for (auto& f : formats) {
      std::string out;
      const double c0 = CpuSeconds();
      bool failed = false;
      for (int i = 0; i < repeat && !failed; ++i) {
        auto e = f.encode(raster);
        if (!e.ok()) {
          if (&f == &formats.front()) {
            std::cerr << path << ": " << f.name << ": " << e.status().ToString() << "\n";
            return 1;
          }
          failed = true;
          break;
        }
        out = std::move(*e);
      }
      f.images += 1;
      if (failed) {  // the worker would send the JPEG
        f.failed += 1;
        f.cpu_s += jpeg_cpu;
        f.bytes += jpeg_bytes;
        f.ssim += jpeg_ssim;
        continue;
      }
      const double cpu = (CpuSeconds() - c0) / repeat, ssim = Ssim(raster, f.decode(out));
      f.cpu_s += cpu;
      f.bytes += static_cast<double>(out.size());
      f.ssim += ssim;
      if (&f == &formats.front()) {
        jpeg_bytes = static_cast<double>(out.size());
        jpeg_cpu = cpu;
        jpeg_ssim = ssim;
      }
    }
  }
  const Format& jpeg = formats.front();
  std::printf("%zu pictures (%s), scale %.2f, quality %d (webp %d, avif quantizer %d)\n", files.size(), set.c_str(), scale, q, webp_q,
              avif_qz);
  std::printf(
      "| format | mean bytes | bytes / jpeg | mean encode ms | time / jpeg | mean SSIM | refused |\n|---|---|---|---|---|---|---|\n");
  for (const auto& f : formats) {
    const double n = f.images;
    std::printf("| %s | %.0f | %.2f | %.2f | %.1f | %.4f | %d |\n", f.name.c_str(), f.bytes / n, f.bytes / jpeg.bytes, 1000 * f.cpu_s / n,
                f.cpu_s / jpeg.cpu_s, f.ssim / n, f.failed);
  }
  for (const auto& f : formats) {
    std::string key = f.name;
    for (auto& ch : key)
      if (ch == ' ' || ch == '(' || ch == ')' || ch == '-') ch = '_';
    std::printf("RESULT format=%s mean_bytes=%.0f mean_encode_ms=%.3f mean_ssim=%.4f images=%d\n", key.c_str(), f.bytes / f.images,
                1000 * f.cpu_s / f.images, f.ssim / f.images, f.images);
  }
  return 0;
}
