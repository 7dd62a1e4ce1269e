#include "wire/frame.h"

namespace tacc::wire {

void AppendFrame(const google::protobuf::MessageLite& msg, std::string& out) {
  size_t n = msg.ByteSizeLong();
  size_t at = out.size();
  out.resize(at + kFrameHeaderBytes + n);
  auto* p = reinterpret_cast<uint8_t*>(out.data() + at);
  p[0] = static_cast<uint8_t>(n >> 24);
  p[1] = static_cast<uint8_t>(n >> 16);
  p[2] = static_cast<uint8_t>(n >> 8);
  p[3] = static_cast<uint8_t>(n);
  msg.SerializeWithCachedSizesToArray(p + kFrameHeaderBytes);
}

Result<uint32_t> DecodeFrameHeader(const uint8_t* h, int64_t max_bytes) {
  uint32_t n = (uint32_t{h[0]} << 24) | (uint32_t{h[1]} << 16) | (uint32_t{h[2]} << 8) | uint32_t{h[3]};
  if (static_cast<int64_t>(n) > max_bytes)
    return Status::Protocol("frame of " + std::to_string(n) + " bytes exceeds wire.max_frame_bytes=" + std::to_string(max_bytes));
  return n;
}

Result<Envelope> ParseEnvelope(std::string_view body) {
  Envelope env;
  if (!env.ParseFromArray(body.data(), static_cast<int>(body.size())))
    return Status::Protocol("frame is not a valid cluster message");
  if (env.body_case() == Envelope::BODY_NOT_SET) return Status::Protocol("message of unknown or missing kind");
  return env;
}

}  // namespace tacc::wire
