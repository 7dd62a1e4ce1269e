// libFuzzer target for the frame codec: the bytes a peer can put on a cluster connection.
//
// The input is read as a stream of frames, the way Connection::ReadLoop does. Checks:
// no crash or sanitizer report; a header above the limit is a Protocol error; every
// envelope ParseEnvelope accepts has a body, re-encodes with AppendFrame, and parses
// back to the same message (compared by deterministic serialization: protobuf writes map
// entries in no fixed order, so two encodings of one message may differ byte for byte).
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>

#include "wire/frame.h"

namespace {

constexpr int64_t kMaxFrame = 1 << 20;

// `m`'s encoding with map entries sorted by key.
std::string Deterministic(const google::protobuf::MessageLite& m) {
  std::string out;
  {
    google::protobuf::io::StringOutputStream stream(&out);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    m.SerializeToCodedStream(&coded);
  }
  return out;
}

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
    Check(Deterministic(*env) == Deterministic(*again), "re-encoding is not stable");
  }
  return 0;
}
