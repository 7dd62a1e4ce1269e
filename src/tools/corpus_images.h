// CorpusImages: the real pictures `tacc trace serve` answers image URLs with: photos
// (JPEG files, e.g. tests/data/photos or bench/image_corpus.sh's from Debian packages)
// and drawings (PNG icons of Debian's adwaita-icon-theme), each encoded at a ladder of
// sizes as JPEG, GIF (quantised to 256 colours) and PNG. An object of the trace gets the
// largest encoding no bigger than its logged size (chosen among the sources by its
// URL's hash, for variety), padded to exactly that size with comment data the format
// allows (JPEG COM segments, a GIF comment extension, a PNG tEXt chunk), so that bodies
// are real, decodable pictures of the drawn sizes.
//
// Built once at start-up (a second or two); then read-only and thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"

namespace tacc::tools {

enum class PictureFormat { kJpeg, kGif, kPng };

struct CorpusPicture {
  std::string bytes;
  int width = 0, height = 0;
  bool photo = true;
};

struct CorpusSources {
  std::vector<std::string> photo_dirs;    // *.jpg, *.jpeg
  std::vector<std::string> drawing_dirs;  // *.png, searched recursively
  int max_drawings = 24;
  int max_long_side = 2048;  // largest encoding's long side, px (tests use less: faster)
};

class CorpusImages {
 public:
  static Result<CorpusImages> Build(const CorpusSources& sources);
  // A picture of `format` exactly `bytes` long when it can be (when `bytes` is below the
  // smallest encoding, that smallest one, longer than asked).
  std::string Make(PictureFormat format, int64_t bytes, uint64_t hash) const;
  size_t count(PictureFormat f) const { return ladder_[static_cast<size_t>(f)].size(); }
  int photos() const { return photos_; }
  int drawings() const { return drawings_; }

 private:
  std::vector<CorpusPicture> ladder_[3];  // by format, sorted by size
  int photos_ = 0, drawings_ = 0;
};

// Pads an encoded picture to `total` bytes with the format's comment data; the bytes
// unchanged if `total` is not more than they are (or too few more to hold a comment).
std::string PadPicture(PictureFormat format, const std::string& bytes, int64_t total);

}  // namespace tacc::tools
