#include "wire/frame.h"

#include <gtest/gtest.h>

#include <array>
#include <string>

namespace tacc::wire {
namespace {

Envelope SampleTask() {
  Envelope env;
  env.set_id(42);
  env.set_deadline_ms(1500);
  env.mutable_task()->set_worker_class("test");
  env.mutable_task()->set_input(std::string("in\0put", 6));
  (*env.mutable_task()->mutable_args())["mode"] = "echo";
  return env;
}

const uint8_t* Bytes(const std::string& s, size_t at = 0) { return reinterpret_cast<const uint8_t*>(s.data() + at); }

TEST(FrameTest, HeaderIsBigEndianBodyLengthAndRoundTrips) {
  Envelope env = SampleTask();
  std::string out;
  AppendFrame(env, out);
  ASSERT_EQ(out.size(), kFrameHeaderBytes + env.ByteSizeLong());
  size_t n = env.ByteSizeLong();
  EXPECT_EQ(static_cast<uint8_t>(out[0]), static_cast<uint8_t>(n >> 24));
  EXPECT_EQ(static_cast<uint8_t>(out[3]), static_cast<uint8_t>(n));

  auto len = DecodeFrameHeader(Bytes(out), 1 << 20);
  ASSERT_TRUE(len.ok()) << len.status().ToString();
  EXPECT_EQ(*len, n);
  auto parsed = ParseEnvelope(std::string_view(out).substr(kFrameHeaderBytes, *len));
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(parsed->id(), 42u);
  EXPECT_EQ(parsed->deadline_ms(), 1500u);
  ASSERT_EQ(parsed->body_case(), Envelope::kTask);
  EXPECT_EQ(parsed->task().input(), std::string("in\0put", 6));
  EXPECT_EQ(parsed->task().args().at("mode"), "echo");
}

TEST(FrameTest, AppendFrameAppendsAfterExistingBytes) {
  std::string out = "xy";
  Envelope a = SampleTask();
  Envelope b;
  b.mutable_drain();
  AppendFrame(a, out);
  AppendFrame(b, out);
  size_t at = 2;
  auto la = DecodeFrameHeader(Bytes(out, at), 1 << 20);
  ASSERT_TRUE(la.ok());
  at += kFrameHeaderBytes + *la;
  auto lb = DecodeFrameHeader(Bytes(out, at), 1 << 20);
  ASSERT_TRUE(lb.ok());
  auto pb = ParseEnvelope(std::string_view(out).substr(at + kFrameHeaderBytes, *lb));
  ASSERT_TRUE(pb.ok());
  EXPECT_EQ(pb->body_case(), Envelope::kDrain);
  EXPECT_EQ(at + kFrameHeaderBytes + *lb, out.size());
}

TEST(FrameTest, DecodeHeaderHonoursTheLimitExactly) {
  std::array<uint8_t, 4> h{0, 0, 1, 0};  // 256
  auto at = DecodeFrameHeader(h.data(), 256);
  ASSERT_TRUE(at.ok());
  EXPECT_EQ(*at, 256u);
  auto over = DecodeFrameHeader(h.data(), 255);
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.status().kind(), ErrorKind::kProtocol);
  EXPECT_NE(over.status().message().find("wire.max_frame_bytes"), std::string::npos);
}

TEST(FrameTest, DecodeHeaderRejectsHugeLengths) {
  std::array<uint8_t, 4> gib{0x40, 0, 0, 0};  // 1 GiB
  auto r = DecodeFrameHeader(gib.data(), 64 * 1024 * 1024);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().kind(), ErrorKind::kProtocol);
  std::array<uint8_t, 4> max{0xff, 0xff, 0xff, 0xff};  // top bit set must not turn negative
  auto m = DecodeFrameHeader(max.data(), 64 * 1024 * 1024);
  ASSERT_FALSE(m.ok());
  auto big = DecodeFrameHeader(max.data(), int64_t{1} << 32);
  ASSERT_TRUE(big.ok());
  EXPECT_EQ(*big, 0xffffffffu);
}

TEST(FrameTest, ZeroLengthHeaderIsAcceptedButEmptyBodyIsNotAMessage) {
  std::array<uint8_t, 4> zero{0, 0, 0, 0};
  auto z = DecodeFrameHeader(zero.data(), 64);
  ASSERT_TRUE(z.ok());
  EXPECT_EQ(*z, 0u);
  auto e = ParseEnvelope("");
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.status().kind(), ErrorKind::kProtocol);
}

TEST(FrameTest, ParseEnvelopeRejectsGarbage) {
  for (std::string_view junk :
       {std::string_view("\xff\xff\xff\xff\xff"), std::string_view("GET / HTTP/1.1\r\n\r\n"), std::string_view("\x0a\x05\x01", 3)}) {
    auto r = ParseEnvelope(junk);
    ASSERT_FALSE(r.ok()) << "accepted: " << junk;
    EXPECT_EQ(r.status().kind(), ErrorKind::kProtocol);
  }
}

TEST(FrameTest, ParseEnvelopeRejectsMissingOrUnknownBody) {
  Envelope header_only;
  header_only.set_id(7);
  header_only.set_is_reply(true);
  auto r = ParseEnvelope(header_only.SerializeAsString());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().kind(), ErrorKind::kProtocol);

  // Field 99 (length-delimited) is a body kind this build does not know.
  std::string unknown = header_only.SerializeAsString() + std::string("\x9a\x06\x00", 3);
  auto u = ParseEnvelope(unknown);
  ASSERT_FALSE(u.ok());
  EXPECT_EQ(u.status().kind(), ErrorKind::kProtocol);
}

TEST(FrameTest, ParseEnvelopeAcceptsAnEmptyBodyMessage) {
  Envelope env;
  env.mutable_deregister();  // an empty message is still a body
  auto r = ParseEnvelope(env.SerializeAsString());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->body_case(), Envelope::kDeregister);
}

}  // namespace
}  // namespace tacc::wire
