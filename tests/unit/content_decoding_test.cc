#include "http/content_decoding.h"

#include <brotli/encode.h>
#include <gtest/gtest.h>
#include <zlib.h>

#include "compress.h"

namespace tacc::http {
namespace {

using tacc::testing::Deflate;

std::string Brotli(const std::string& in) {
  size_t n = BrotliEncoderMaxCompressedSize(in.size());
  std::string out(n, '\0');
  BrotliEncoderCompress(5, BROTLI_DEFAULT_WINDOW, BROTLI_MODE_GENERIC, in.size(), reinterpret_cast<const uint8_t*>(in.data()), &n,
                        reinterpret_cast<uint8_t*>(out.data()));
  out.resize(n);
  return out;
}

const std::string kText = "<html><body>" + std::string(5000, 'a') + "</body></html>";

TEST(ContentDecodingTest, GzipDeflateBrotliAndStacks) {
  EXPECT_EQ(*DecodeContent("gzip", Deflate(kText, 16 + MAX_WBITS), 1 << 20), kText);
  EXPECT_EQ(*DecodeContent("deflate", Deflate(kText, MAX_WBITS), 1 << 20), kText);
  EXPECT_EQ(*DecodeContent("deflate", Deflate(kText, -MAX_WBITS), 1 << 20), kText) << "headerless deflate, as some servers send it";
  EXPECT_EQ(*DecodeContent("br", Brotli(kText), 1 << 20), kText);
  EXPECT_EQ(*DecodeContent("gzip, br", Brotli(Deflate(kText, 16 + MAX_WBITS)), 1 << 20), kText);
  EXPECT_EQ(*DecodeContent("identity", kText, 1 << 20), kText);
}

TEST(ContentDecodingTest, BombsCorruptionAndUnknownCodingsAreRefused) {
  std::string zeros(50 << 20, '\0');
  std::string bomb = Deflate(zeros, 16 + MAX_WBITS);
  ASSERT_LT(bomb.size(), 100000u);
  auto r = DecodeContent("gzip", bomb, 1 << 20);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("exceeds"), std::string::npos) << r.status().ToString();
  EXPECT_FALSE(DecodeContent("br", Brotli(zeros), 1 << 20).ok());
  std::string gz = Deflate(kText, 16 + MAX_WBITS);
  EXPECT_FALSE(DecodeContent("gzip", gz.substr(0, gz.size() / 2), 1 << 20).ok()) << "truncated";
  EXPECT_FALSE(DecodeContent("gzip", "not gzip at all", 1 << 20).ok());
  EXPECT_FALSE(DecodeContent("br", "not brotli", 1 << 20).ok());
  EXPECT_FALSE(DecodeContent("compress", kText, 1 << 20).ok());
}

}  // namespace
}  // namespace tacc::http
