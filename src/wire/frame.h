// Frame codec: 4-byte big-endian length + one serialized protobuf message.
//
// Pure functions, no I/O, so the parser can be fuzzed and unit-tested byte by byte.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"
#include "wire/cluster.pb.h"

namespace tacc::wire {

constexpr size_t kFrameHeaderBytes = 4;

// Appends the frame of `msg` to `out`.
void AppendFrame(const google::protobuf::MessageLite& msg, std::string& out);

// Reads the body length from a 4-byte header; Protocol error if above max_bytes.
Result<uint32_t> DecodeFrameHeader(const uint8_t* header, int64_t max_bytes);

// Parses one envelope body. Protocol error for bytes that are not an Envelope or an
// Envelope whose body is missing or of a kind this build does not know.
Result<Envelope> ParseEnvelope(std::string_view body);

}  // namespace tacc::wire
