// libFuzzer target for the frame codec: the bytes a peer can put on a cluster connection.
//
// The input is read as a stream of frames, the way Connection::ReadLoop does. Checks:
// no crash or sanitizer report; a header above the limit is a Protocol error; every
// envelope ParseEnvelope accepts has a body, re-encodes with AppendFrame, and parses
// back to the same bytes.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "wire/frame.h"

namespace {

constexpr int64_t kMaxFrame = 1 << 20;

void Check(bool ok, const char* what) {
  if (!ok) {
    fprintf(stderr, "frame_fuzz: %s\n", what);
    abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tacc::wire;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  // The whole input as one body, as well as a stream of frames.
  auto whole = ParseEnvelope(in);
  Check(!whole.ok() || whole->body_case() != Envelope::BODY_NOT_SET, "accepted an envelope without a body");

  while (in.size() >= kFrameHeaderBytes) {
    auto len = DecodeFrameHeader(reinterpret_cast<const uint8_t*>(in.data()), kMaxFrame);
    if (!len.ok()) {
      Check(len.status().kind() == tacc::ErrorKind::kProtocol, "oversized header is not a Protocol error");
      break;
    }
    Check(*len <= kMaxFrame, "header above the limit accepted");
    in.remove_prefix(kFrameHeaderBytes);
    if (*len > in.size()) break;  // truncated frame: the reader would wait for more
    auto env = ParseEnvelope(in.substr(0, *len));
    in.remove_prefix(*len);
    if (!env.ok()) {
      Check(env.status().kind() == tacc::ErrorKind::kProtocol, "bad body is not a Protocol error");
      break;  // the connection closes
    }
    Check(env->body_case() != Envelope::BODY_NOT_SET, "accepted an envelope without a body");

    std::string frame;
    AppendFrame(*env, frame);
    auto len2 = DecodeFrameHeader(reinterpret_cast<const uint8_t*>(frame.data()), int64_t{1} << 32);
    Check(len2.ok() && *len2 + kFrameHeaderBytes == frame.size(), "AppendFrame header does not match its body");
    auto again = ParseEnvelope(std::string_view(frame).substr(kFrameHeaderBytes));
    Check(again.ok(), "re-encoded envelope does not parse");
    std::string frame2;
    AppendFrame(*again, frame2);
    Check(frame == frame2, "re-encoding is not stable");
  }
  return 0;
}
