// DispatchRules: which chain of worker classes a response goes through (paper §2.2.1:
// the front end composes workers "like a Unix pipeline"; §4.1: small objects pass).
//
// A rule is one line of configuration (tacc.dispatch_rules):
//
//   <mime pattern> [size>=N] [size<=N] [profile.<key>=<value>]... -> <step> | <step> ...
//   step: <class>  or  <class>{arg=value,arg=value}
//
// e.g. "image/jpeg size<=8000000 -> jpeg", "text/html -> html_munger | keyword_filter",
// "text/plain profile.shout=yes -> test{echo=1,append=!}", "image/* -> auto". A chain
// that is the single step `auto` is planned per request from the types the classes
// convert between and what the client accepts (src/tacc/chain_planner.h). The pattern is "type/sub",
// "type/*" or "*/*", matched against the MIME type's essence (lower case, parameters
// dropped). The first rule that matches wins; none: the object passes through untouched.
// Objects smaller than the minimum size (tacc.min_transform_bytes, paper §4.1: under
// 1 KB distillation isn't worth it) pass through whatever the rules say.
//
// Pure logic, immutable once parsed; the front end swaps in a new set on SIGHUP.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace tacc::tacc_layer {

struct ChainStep {
  std::string worker_class;
  std::map<std::string, std::string> args;  // per-task arguments the rule gives this step
};

inline constexpr std::string_view kPlannedStep = "auto";

struct DispatchRule {
  std::string text;          // as configured, for logs and errors
  std::string type;          // "image" or "*"
  std::string subtype;       // "jpeg" or "*"
  std::optional<int64_t> min_bytes, max_bytes;
  std::map<std::string, std::string> profile;  // every entry must equal the user's
  std::vector<ChainStep> chain;
  bool planned() const { return chain.size() == 1 && chain[0].worker_class == kPlannedStep; }
};

class DispatchRules {
 public:
  DispatchRules() = default;
  // InvalidArgument names the bad rule and what is wrong with it.
  static Result<DispatchRules> Parse(const std::vector<std::string>& rules, int64_t min_transform_bytes);

  // The chain for an object of `mime_type` and `size` bytes for a user with `profile`,
  // or null (pass through).
  const DispatchRule* Match(std::string_view mime_type, int64_t size, const std::map<std::string, std::string>& profile) const;

  const std::vector<DispatchRule>& rules() const { return rules_; }
  int64_t min_transform_bytes() const { return min_bytes_; }
  // Every worker class some rule names (to check them against the class table); not `auto`.
  std::vector<std::string> Classes() const;

 private:
  std::vector<DispatchRule> rules_;
  int64_t min_bytes_ = 1024;
};

// "Image/JPEG; q=1" -> "image/jpeg".
std::string MimeEssence(std::string_view mime_type);

}  // namespace tacc::tacc_layer
