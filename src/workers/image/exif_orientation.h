// ExifOrientation: the orientation tag (0x0112) of a JPEG's APP1 "Exif" segment, read
// with every offset bounds-checked (the bytes come from any origin). The distillers turn
// the pixels upright and drop the EXIF segment, so the output needs no tag.
#pragma once

#include <string_view>

namespace tacc::workers::image {

// 1..8 as the tag says, or 1 if the segment is not EXIF, malformed, or has no tag.
int ExifOrientation(std::string_view app1);

}  // namespace tacc::workers::image
