#include "tools/corpus_images.h"

#include <zlib.h>

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "workers/image/gif_codec.h"
#include "workers/image/jpeg_codec.h"
#include "workers/image/palette.h"
#include "workers/image/png_codec.h"
#include "workers/image/resample.h"

namespace tacc::tools {

namespace img = tacc::workers::image;
namespace fs = std::filesystem;

namespace {

constexpr std::string_view kPadText = "tacc trace corpus: padding to the size the trace drew. ";

std::string ReadFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string Filler(size_t n) {
  std::string out;
  out.reserve(n);
  while (out.size() < n) out.append(kPadText.substr(0, std::min(kPadText.size(), n - out.size())));
  return out;
}

void Put32(std::string& s, uint32_t v) {
  s.push_back(static_cast<char>(v >> 24));
  s.push_back(static_cast<char>(v >> 16));
  s.push_back(static_cast<char>(v >> 8));
  s.push_back(static_cast<char>(v));
}

// Long sides of the ladder: 16 px to max_side in steps of about 19%.
std::vector<int> LongSides(int max_side) {
  std::vector<int> out;
  for (double s = 16; s <= max_side; s *= 1.19) out.push_back(static_cast<int>(s) & ~1);
  return out;
}

img::Raster Scaled(const img::Raster& r, int long_side) {
  double k = static_cast<double>(long_side) / std::max(r.width, r.height);
  return img::ResizeArea(r, std::max(1, static_cast<int>(r.width * k)), std::max(1, static_cast<int>(r.height * k)));
}

}  // namespace

std::string PadPicture(PictureFormat format, const std::string& bytes, int64_t total) {
  int64_t pad = total - static_cast<int64_t>(bytes.size());
  switch (format) {
    case PictureFormat::kJpeg: {
      // COM segments (FF FE, 2-byte length that counts itself) right after SOI.
      if (pad < 4 || bytes.size() < 2) return bytes;
      std::string segs;
      while (pad > 0) {
        int64_t seg = std::min<int64_t>(pad, 65537);  // marker 2 + length 2 + up to 65533 data
        if (pad - seg > 0 && pad - seg < 4) seg -= 4;  // leave room for one more whole segment
        uint16_t len = static_cast<uint16_t>(seg - 2);
        segs += "\xFF\xFE";
        segs.push_back(static_cast<char>(len >> 8));
        segs.push_back(static_cast<char>(len & 0xFF));
        segs += Filler(static_cast<size_t>(seg - 4));
        pad -= seg;
      }
      return bytes.substr(0, 2) + segs + bytes.substr(2);
    }
    case PictureFormat::kGif: {
      // A comment extension (21 FE, sub-blocks of up to 255, a 0 terminator) before the trailer.
      if (pad < 5 || bytes.empty() || bytes.back() != 0x3B) return bytes;
      std::string ext = "\x21\xFE";
      int64_t rem = pad - 3;  // bytes of sub-blocks (each 1 length byte + 1..255 data)
      while (rem > 0) {
        int64_t block = std::min<int64_t>(rem, 256);
        if (rem - block == 1) block -= 1;  // a lone byte can't be a sub-block
        ext.push_back(static_cast<char>(block - 1));
        ext += Filler(static_cast<size_t>(block - 1));
        rem -= block;
      }
      ext.push_back('\0');
      return bytes.substr(0, bytes.size() - 1) + ext + bytes.substr(bytes.size() - 1);
    }
    case PictureFormat::kPng: {
      // One tEXt chunk before IEND (its 12 bytes at the end).
      if (pad < 20 || bytes.size() < 12) return bytes;
      std::string data = "Comment";
      data.push_back('\0');
      data += Filler(static_cast<size_t>(pad - 12 - static_cast<int64_t>(data.size())));
      std::string chunk;
      Put32(chunk, static_cast<uint32_t>(data.size()));
      std::string body = "tEXt" + data;
      chunk += body;
      Put32(chunk, static_cast<uint32_t>(crc32(0, reinterpret_cast<const Bytef*>(body.data()), static_cast<uInt>(body.size()))));
      return bytes.substr(0, bytes.size() - 12) + chunk + bytes.substr(bytes.size() - 12);
    }
  }
  return bytes;
}

Result<CorpusImages> CorpusImages::Build(const CorpusSources& sources) {
  CorpusImages c;
  img::ImageLimits limits;
  std::vector<std::pair<img::Raster, bool>> rasters;  // (picture, is photo)
  for (const auto& dir : sources.photo_dirs) {
    std::error_code ec;
    std::vector<fs::path> files;
    for (const auto& e : fs::directory_iterator(dir, ec)) {
      auto ext = e.path().extension().string();
      if (ext == ".jpg" || ext == ".jpeg") files.push_back(e.path());
    }
    std::sort(files.begin(), files.end());
    for (const auto& f : files) {
      auto d = img::DecodeJpeg(ReadFile(f), limits, [](img::Size s) { return s; });
      if (!d.ok()) continue;
      img::Raster r = img::ApplyOrientation(std::move(d->raster), d->orientation);
      if (r.channels == 1) continue;  // colour photos only: the GIF and JPEG ladders want colour
      rasters.emplace_back(std::move(r), true);
      ++c.photos_;
    }
  }
  for (const auto& dir : sources.drawing_dirs) {
    std::error_code ec;
    std::vector<fs::path> files;
    for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
      if (it->path().extension() == ".png") files.push_back(it->path());
    }
    std::sort(files.begin(), files.end());
    // Spread the picks over the whole set (folders, devices, emblems...).
    size_t step = std::max<size_t>(1, files.size() / static_cast<size_t>(std::max(1, sources.max_drawings)));
    // Many icons are symbolic (gray): pass after pass until enough colour ones are found.
    for (size_t offset = 0; offset < step && c.drawings_ < sources.max_drawings; ++offset) {
      for (size_t i = offset; i < files.size() && c.drawings_ < sources.max_drawings; i += step) {
        auto d = img::DecodePng(ReadFile(files[i]), limits);
        if (!d.ok() || d->raster.channels < 3) continue;
        rasters.emplace_back(img::Flatten(std::move(d->raster), img::Rgb{}), false);
        ++c.drawings_;
      }
    }
  }
  if (c.photos_ == 0) return Status::NotFound("no colour JPEG photo found in the photo directories");
  if (c.drawings_ == 0) return Status::NotFound("no PNG drawing found in the drawing directories (Debian: adwaita-icon-theme)");
  for (const auto& [raster, photo] : rasters) {
    for (int side : LongSides(sources.max_long_side)) {
      // Photos go on JPEG (and large GIF) ladders, drawings on GIF and PNG: as on the web.
      img::Raster r = Scaled(raster, side);
      if (photo) {
        img::JpegEncodeOptions jo;
        auto j = img::EncodeJpeg(r, jo);
        if (j.ok()) c.ladder_[0].push_back({std::move(*j), r.width, r.height, true});
      }
      if (!photo || side >= 96) {
        auto q = img::Quantize(r, photo ? 256 : 64);
        if (q.ok()) {
          std::vector<img::GifOutputFrame> frames(1);
          frames[0].image = std::move(*q);
          auto g = img::EncodeGif(frames, -1);
          if (g.ok()) c.ladder_[1].push_back({std::move(*g), r.width, r.height, photo});
        }
      }
      if (!photo && side <= 512) {
        auto p = img::EncodePng(r, img::PngEncodeOptions{});
        if (p.ok()) c.ladder_[2].push_back({std::move(*p), r.width, r.height, false});
      }
    }
  }
  // Icons and bullets: tiny GIFs of few colours (the paper's plateau under 1 KB starts
  // at a few dozen bytes).
  for (const auto& [raster, photo] : rasters) {
    if (photo) continue;
    for (int side : {1, 2, 4, 6, 8, 12, 16, 24, 32}) {
      auto png = img::EncodePng(Scaled(raster, side), img::PngEncodeOptions{});
      if (png.ok()) c.ladder_[2].push_back({std::move(*png), side, side, false});
      for (int colours : {2, 4, 16}) {
        auto q = img::Quantize(Scaled(raster, side), colours);
        if (!q.ok()) continue;
        std::vector<img::GifOutputFrame> frames(1);
        int w = q->width, h = q->height;
        frames[0].image = std::move(*q);
        auto g = img::EncodeGif(frames, -1);
        if (g.ok()) c.ladder_[1].push_back({std::move(*g), w, h, false});
      }
    }
  }
  for (auto& l : c.ladder_) {
    std::sort(l.begin(), l.end(), [](const CorpusPicture& a, const CorpusPicture& b) { return a.bytes.size() < b.bytes.size(); });
    if (l.empty()) return Status::Internal("no picture could be encoded for the corpus");
  }
  return c;
}

std::string CorpusImages::Make(PictureFormat format, int64_t bytes, uint64_t hash) const {
  const auto& l = ladder_[static_cast<size_t>(format)];
  // Encodings no bigger than asked, less room for the smallest comment of the format.
  const int64_t room = format == PictureFormat::kJpeg ? 4 : format == PictureFormat::kGif ? 5 : 20;
  auto fits = std::upper_bound(l.begin(), l.end(), bytes - room, [](int64_t b, const CorpusPicture& p) { return b < static_cast<int64_t>(p.bytes.size()); });
  if (fits == l.begin()) return l.front().bytes;
  // Among the few largest that fit (within 25% of the largest), one by the hash.
  auto last = fits - 1;
  auto first = last;
  while (first != l.begin() && static_cast<double>((first - 1)->bytes.size()) >= 0.75 * static_cast<double>(last->bytes.size())) --first;
  const auto& pick = *(first + static_cast<std::ptrdiff_t>(hash % static_cast<uint64_t>(last - first + 1)));
  return PadPicture(format, pick.bytes, bytes);
}

}  // namespace tacc::tools
