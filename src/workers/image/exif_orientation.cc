#include "workers/image/exif_orientation.h"

#include <cstdint>

namespace tacc::workers::image {

int ExifOrientation(std::string_view app1) {
  constexpr std::string_view kExif("Exif\0\0", 6);
  if (!app1.starts_with(kExif)) return 1;
  std::string_view tiff = app1.substr(kExif.size());
  if (tiff.size() < 8) return 1;
  bool little;
  if (tiff.substr(0, 2) == "II") little = true;
  else if (tiff.substr(0, 2) == "MM") little = false;
  else return 1;
  auto u16 = [&](size_t at) -> uint32_t {
    auto a = static_cast<uint8_t>(tiff[at]), b = static_cast<uint8_t>(tiff[at + 1]);
    return little ? (a | (b << 8)) : ((a << 8) | b);
  };
  auto u32 = [&](size_t at) -> uint32_t { return little ? (u16(at) | (u16(at + 2) << 16)) : ((u16(at) << 16) | u16(at + 2)); };
  if (u16(2) != 42) return 1;
  const uint64_t ifd = u32(4);
  if (ifd + 2 > tiff.size()) return 1;
  const uint32_t entries = u16(static_cast<size_t>(ifd));
  for (uint32_t i = 0; i < entries; ++i) {
    const uint64_t at = ifd + 2 + uint64_t{12} * i;
    if (at + 12 > tiff.size()) return 1;
    if (u16(static_cast<size_t>(at)) != 0x0112) continue;
    if (u16(static_cast<size_t>(at) + 2) != 3 || u32(static_cast<size_t>(at) + 4) != 1) return 1;  // SHORT, count 1
    const uint32_t v = u16(static_cast<size_t>(at) + 8);
    return (v >= 1 && v <= 8) ? static_cast<int>(v) : 1;
  }
  return 1;
}

}  // namespace tacc::workers::image
