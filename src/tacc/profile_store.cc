#include "tacc/profile_store.h"

namespace tacc::tacc_layer {

Status ValidateProfileToken(std::string_view token) {
  if (token.empty()) return Status::InvalidArgument("empty user token");
  if (token.size() > kMaxProfileTokenBytes) {
    return Status::InvalidArgument("user token of " + std::to_string(token.size()) + " bytes, more than " +
                                   std::to_string(kMaxProfileTokenBytes));
  }
  for (char c : token) {
    if (c < 0x21 || c > 0x7e) return Status::InvalidArgument("user token has a byte outside printable ASCII");
  }
  return Status::Ok();
}

}  // namespace tacc::tacc_layer
