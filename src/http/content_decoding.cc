#include "http/content_decoding.h"

#include <brotli/decode.h>
#include <fmt/format.h>
#include <zlib.h>

#include <cctype>
#include <vector>

namespace tacc::http {
namespace {

Result<std::string> Inflate(std::string_view in, size_t max_output, bool gzip) {
  z_stream z{};
  // gzip: 16 + MAX_WBITS; deflate: 32 + MAX_WBITS detects zlib or gzip headers. Raw
  // deflate (what some servers send as "deflate") is tried if the zlib header is wrong.
  if (inflateInit2(&z, gzip ? 16 + MAX_WBITS : 32 + MAX_WBITS) != Z_OK) return Status::Internal("zlib: cannot initialise");
  std::string out;
  char buf[64 * 1024];
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    z.next_out = reinterpret_cast<Bytef*>(buf);
    z.avail_out = sizeof buf;
    rc = inflate(&z, Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END) {
      inflateEnd(&z);
      if (!gzip && out.empty() && rc == Z_DATA_ERROR) {  // headerless deflate
        z = z_stream{};
        if (inflateInit2(&z, -MAX_WBITS) != Z_OK) return Status::Internal("zlib: cannot initialise");
        z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
        z.avail_in = static_cast<uInt>(in.size());
        gzip = true;  // only one retry
        rc = Z_OK;
        continue;
      }
      return Status::InvalidArgument(fmt::format("corrupt {} data", gzip ? "gzip" : "deflate"));
    }
    size_t got = sizeof buf - z.avail_out;
    if (out.size() + got > max_output) {
      inflateEnd(&z);
      return Status::InvalidArgument(fmt::format("decoded body exceeds {} bytes", max_output));
    }
    out.append(buf, got);
    if (rc != Z_STREAM_END && z.avail_in == 0 && got == 0) {
      inflateEnd(&z);
      return Status::InvalidArgument("truncated compressed data");
    }
  }
  inflateEnd(&z);
  return out;
}

Result<std::string> Unbrotli(std::string_view in, size_t max_output) {
  BrotliDecoderState* s = BrotliDecoderCreateInstance(nullptr, nullptr, nullptr);
  if (!s) return Status::Internal("brotli: cannot initialise");
  std::string out;
  const uint8_t* next_in = reinterpret_cast<const uint8_t*>(in.data());
  size_t avail_in = in.size();
  uint8_t buf[64 * 1024];
  BrotliDecoderResult r = BROTLI_DECODER_RESULT_NEEDS_MORE_OUTPUT;
  while (r == BROTLI_DECODER_RESULT_NEEDS_MORE_OUTPUT || (r == BROTLI_DECODER_RESULT_NEEDS_MORE_INPUT && avail_in > 0)) {
    uint8_t* next_out = buf;
    size_t avail_out = sizeof buf;
    r = BrotliDecoderDecompressStream(s, &avail_in, &next_in, &avail_out, &next_out, nullptr);
    size_t got = sizeof buf - avail_out;
    if (out.size() + got > max_output) {
      BrotliDecoderDestroyInstance(s);
      return Status::InvalidArgument(fmt::format("decoded body exceeds {} bytes", max_output));
    }
    out.append(reinterpret_cast<char*>(buf), got);
  }
  BrotliDecoderDestroyInstance(s);
  if (r != BROTLI_DECODER_RESULT_SUCCESS) return Status::InvalidArgument("corrupt or truncated brotli data");
  return out;
}

}  // namespace

Result<std::string> DecodeContent(std::string_view coding, std::string_view body, size_t max_output) {
  // Codings are listed in the order applied; undo them last first.
  std::vector<std::string> codings;
  std::string cur;
  for (char c : coding) {
    if (c == ',') {
      codings.push_back(cur);
      cur.clear();
    } else if (!std::isspace(static_cast<unsigned char>(c))) {
      cur += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
  }
  codings.push_back(cur);
  if (codings.size() > 4) return Status::InvalidArgument("more than 4 content codings");
  std::string data(body);
  for (auto it = codings.rbegin(); it != codings.rend(); ++it) {
    Result<std::string> next = Status::InvalidArgument("unsupported content coding '" + *it + "'");
    if (it->empty() || *it == "identity") continue;
    if (*it == "gzip" || *it == "x-gzip") next = Inflate(data, max_output, true);
    else if (*it == "deflate") next = Inflate(data, max_output, false);
    else if (*it == "br") next = Unbrotli(data, max_output);
    if (!next.ok()) return next.status();
    data = std::move(*next);
  }
  return data;
}

}  // namespace tacc::http
