// The built-in "html_munger" worker: TranSend's HTML munger (paper §2.3, Figure 1;
// issue 8). Marks each inline image with the user's distillation preferences, adds a
// refinement link to its original next to it, and puts a preferences toolbar at the top
// of the body (html_munge.h says exactly what goes where). Everything else stays byte
// for byte as it came: broken HTML and any charset survive (page_charset.h says which
// charsets it leaves alone).
//
// A page it does not munge goes back as it came, meta munged=no and a reason: over
// max_input_mb, over the parse budget, or a charset it can't touch. With the start-up
// arg big_pages_to=<class>, a page over max_input_mb is handed on to that class instead
// (the paper's munger passing big pages on; the stub makes the call, and the class must
// be in this class's handoff_to): e.g. a class of the same worker with a larger budget,
// on workers of its own so that big pages never queue ahead of small ones.
//
// Task args: url (the page's absolute URL: relative srcs resolve against it); profile:
// quality, max_width, gray, format (the image mark), keyword, distill (kept by the
// toolbar's form). Start-up args (classes.<name>.args): toolbar=0|1 (1), max_input_mb
// (8), max_parse_mb (gumbo's memory, 256), max_parse_ms (2000), big_pages_to (none).
// Output: the input's MIME type (charset parameter kept); meta munged=yes|no, images
// (marked), links (refinement links added), toolbar=yes|no.
#include <fmt/format.h>

#include "sns/worker_registry.h"
#include "workers/html/html_munge.h"
#include "workers/html/page_charset.h"

namespace tacc::workers::html {
namespace {

class HtmlMunger : public sns::WorkerFunction {
 public:
  HtmlMunger(bool toolbar, ParseLimits limits, std::string big_pages_to)
      : toolbar_(toolbar), limits_(limits), big_pages_to_(std::move(big_pages_to)) {}

  Result<sns::TaskOutput> Process(const sns::TaskInput& in) override {
    sns::TaskOutput out;
    out.mime_type = in.mime_type;
    auto as_is = [&](std::string reason) {
      out.data = in.data;
      out.meta["munged"] = "no";
      out.meta["reason"] = std::move(reason);
      return out;
    };
    if (!big_pages_to_.empty() && in.data.size() > limits_.max_input_bytes && !in.handed_off) {
      out.handoff = sns::Handoff{big_pages_to_, {}};
      return out;
    }
    if (ClassifyCharset(in.mime_type, in.data) == CharsetFit::kNone) return as_is("the page's charset is not ASCII-compatible");
    MungeOptions o;
    if (auto u = in.args.find("url"); u != in.args.end()) o.page_url = u->second;
    o.prefs = PagePreferences::FromProfile(in.profile);
    o.toolbar = toolbar_;
    o.limits = limits_;
    auto munged = MungeHtml(in.data, o);
    if (!munged.ok()) return as_is(munged.status().message());
    out.data = std::move(munged->html);
    out.meta["munged"] = "yes";
    out.meta["images"] = fmt::format("{}", munged->images);
    out.meta["links"] = fmt::format("{}", munged->links);
    out.meta["toolbar"] = munged->toolbar ? "yes" : "no";
    return out;
  }

 private:
  bool toolbar_;
  ParseLimits limits_;
  std::string big_pages_to_;
};

Result<sns::WorkerFunctionPtr> MakeHtmlMunger(const std::map<std::string, std::string>& args) {
  bool toolbar = true;
  if (auto it = args.find("toolbar"); it != args.end()) {
    if (it->second != "0" && it->second != "1") return Status::InvalidArgument(fmt::format("html_munger worker: toolbar must be 0 or 1, not '{}'", it->second));
    toolbar = it->second == "1";
  }
  for (const auto& [k, v] : args)
    if (k != "toolbar" && k != "max_input_mb" && k != "max_parse_mb" && k != "max_parse_ms" && k != "big_pages_to")
      return Status::InvalidArgument(
          fmt::format("html_munger worker: unknown start-up arg '{}' (toolbar, max_input_mb, max_parse_mb, max_parse_ms, big_pages_to)", k));
  std::string big_pages_to;
  if (auto it = args.find("big_pages_to"); it != args.end()) big_pages_to = it->second;
  auto limits = ParseLimitsFromArgs(args, "html_munger", ParseLimits{});
  if (!limits.ok()) return limits.status();
  return sns::WorkerFunctionPtr(std::make_unique<HtmlMunger>(toolbar, *limits, std::move(big_pages_to)));
}

}  // namespace
}  // namespace tacc::workers::html

TACC_REGISTER_TYPED_WORKER(html_munger, "html_munger",
                     "HTML munger: marks inline images with the user's preferences (data-tacc), adds refinement links "
                     "(/_tacc/orig) and a preferences toolbar, splicing at gumbo's source offsets; task arg url; "
                     "args toolbar=0|1, max_input_mb, max_parse_mb, max_parse_ms, big_pages_to",
                     tacc::workers::html::MakeHtmlMunger, (std::vector<std::string>{"text/html"}), (std::vector<std::string>{"text/html"}));
