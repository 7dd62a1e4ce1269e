// The built-in "keyword_filter" worker (issue 8): highlights a user's keyword in the text
// of a page, each match wrapped in <mark class="tacc-kw"> at its exact source offsets
// (keyword_highlight.h, keyword_matcher.h); the page is otherwise byte for byte as it
// came. Composable after the munger: "text/html -> html_munger | keyword_filter".
//
// The keyword: task arg keyword (a rule's), else the profile's keyword; ASCII
// whitespace at its ends dropped. Without one the page goes back at once, not parsed
// (meta highlighted=no): the filter costs a copy for users who set none. A keyword over
// 64 bytes or with control characters, a page over max_input_mb or the parse budget, or
// a charset where a match could split a character (page_charset.h): the page as it
// came, meta highlighted=no and a reason.
//
// Start-up args (classes.<name>.args): max_input_mb (8), max_parse_mb (256),
// max_parse_ms (2000). Output: the input's MIME type; meta highlighted=yes|no, matches.
#include <fmt/format.h>

#include "sns/worker_registry.h"
#include "workers/html/keyword_highlight.h"
#include "workers/html/keyword_matcher.h"
#include "workers/html/page_charset.h"

namespace tacc::workers::html {
namespace {

class KeywordFilter : public sns::WorkerFunction {
 public:
  explicit KeywordFilter(ParseLimits limits) : limits_(limits) {}

  Result<sns::TaskOutput> Process(const sns::TaskInput& in) override {
    sns::TaskOutput out;
    out.mime_type = in.mime_type;
    auto as_is = [&](std::string reason) {
      out.data = in.data;
      out.meta["highlighted"] = "no";
      out.meta["reason"] = std::move(reason);
      return out;
    };
    std::string_view keyword;
    if (auto a = in.args.find("keyword"); a != in.args.end()) keyword = a->second;
    else if (auto p = in.profile.find("keyword"); p != in.profile.end()) keyword = p->second;
    while (!keyword.empty() && (keyword.front() == ' ' || keyword.front() == '\t')) keyword.remove_prefix(1);
    while (!keyword.empty() && (keyword.back() == ' ' || keyword.back() == '\t')) keyword.remove_suffix(1);
    if (keyword.empty()) return as_is("no keyword");
    if (keyword.size() > kMaxKeywordBytes) return as_is(fmt::format("the keyword is longer than {} bytes", kMaxKeywordBytes));
    for (char c : keyword)
      if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return as_is("the keyword has control characters");
    if (ClassifyCharset(in.mime_type, in.data) != CharsetFit::kAscii) return as_is("a match could split a character in the page's charset");
    auto done = HighlightKeyword(in.data, keyword, limits_);
    if (!done.ok()) return as_is(done.status().message());
    out.data = std::move(done->html);
    out.meta["highlighted"] = "yes";
    out.meta["matches"] = fmt::format("{}", done->matches);
    return out;
  }

 private:
  ParseLimits limits_;
};

Result<sns::WorkerFunctionPtr> MakeKeywordFilter(const std::map<std::string, std::string>& args) {
  for (const auto& [k, v] : args)
    if (k != "max_input_mb" && k != "max_parse_mb" && k != "max_parse_ms")
      return Status::InvalidArgument(fmt::format("keyword_filter worker: unknown start-up arg '{}' (max_input_mb, max_parse_mb, max_parse_ms)", k));
  auto limits = ParseLimitsFromArgs(args, "keyword_filter", ParseLimits{});
  if (!limits.ok()) return limits.status();
  return sns::WorkerFunctionPtr(std::make_unique<KeywordFilter>(*limits));
}

}  // namespace
}  // namespace tacc::workers::html

TACC_REGISTER_TYPED_WORKER(keyword_filter, "keyword_filter",
                     "keyword filter: wraps matches of the user's keyword (profile or task arg keyword) in page text in "
                     "<mark class=\"tacc-kw\">; args max_input_mb, max_parse_mb, max_parse_ms",
                     tacc::workers::html::MakeKeywordFilter, (std::vector<std::string>{"text/html"}), (std::vector<std::string>{"text/html"}));
