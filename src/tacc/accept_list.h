// AcceptList: what a client says it can take (an HTTP Accept field, RFC 9110 §12.5.1),
// for the chain planner (paper §2.2.1, "adapting to client variation": a chain ends in a
// type the client can show).
//
// Pure logic. Malformed members are skipped (a client's mistake narrows nothing); an
// absent or empty field accepts everything.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace tacc::tacc_layer {

class AcceptList {
 public:
  AcceptList() = default;  // accepts everything
  static AcceptList Parse(std::string_view field);

  // The quality (0..1) the client gives a MIME type's essence ("image/webp"): that of
  // the most specific member that matches (type/sub over type/* over */*); 0 if none.
  double Quality(std::string_view essence) const;
  bool Accepts(std::string_view essence) const { return Quality(essence) > 0; }

 private:
  struct Member {
    std::string type, subtype;  // lower case; "*" for a wildcard
    double q = 1;
  };
  std::vector<Member> members_;
  bool any_ = true;  // no field: everything at q=1
};

}  // namespace tacc::tacc_layer
