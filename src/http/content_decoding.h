// Content decoding: undoes Content-Encoding (gzip, deflate, br) for a body a worker must
// read (issue 7: bodies are decoded only then; everything else passes as it came).
//
// Output is bounded (`max_output`): a small body that inflates past it (a decompression
// bomb) is refused, never expanded. zlib and brotli (Debian's) do the work.
//
// Pure functions; thread-safe.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "common/status.h"

namespace tacc::http {

// Decodes `body` as the Content-Encoding field value `coding` says (a list, applied in
// order: "gzip", "deflate", "br", "identity", e.g. "gzip, br"). InvalidArgument for an
// unknown coding, corrupt data, or output over max_output bytes.
Result<std::string> DecodeContent(std::string_view coding, std::string_view body, size_t max_output);

}  // namespace tacc::http
