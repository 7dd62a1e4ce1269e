// Compressed bodies for tests (zlib): what origins send with Content-Encoding.
#pragma once

#include <string>

namespace tacc::testing {

// `in` deflated with zlib's window_bits: 16 + 15 gzip, 15 zlib ("deflate"), -15 raw.
std::string Deflate(const std::string& in, int window_bits);
inline std::string Gzip(const std::string& in) { return Deflate(in, 16 + 15); }

}  // namespace tacc::testing
