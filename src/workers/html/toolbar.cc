#include "workers/html/toolbar.h"

#include <fmt/format.h>

#include "workers/html/html_escape.h"

namespace tacc::workers::html {

PagePreferences PagePreferences::FromProfile(const std::map<std::string, std::string>& profile) {
  auto get = [&](const char* k) {
    auto it = profile.find(k);
    return it == profile.end() ? std::string() : it->second;
  };
  return {get("quality"), get("max_width"), get("gray"), get("format"), get("keyword"), get("distill")};
}

std::string RenderToolbar(const PagePreferences& p) {
  static constexpr std::pair<const char*, const char*> kQualities[] = {{"10", "low"}, {"25", "medium"}, {"50", "good"}, {"75", "high"}};
  std::string options = fmt::format(R"(<option value=""{}>quality: auto</option>)", p.quality.empty() ? " selected" : "");
  bool listed = p.quality.empty();
  for (const auto& [value, name] : kQualities) {
    const bool chosen = p.quality == value;
    listed = listed || chosen;
    options += fmt::format(R"(<option value="{}"{}>{} ({})</option>)", value, chosen ? " selected" : "", name, value);
  }
  if (!listed) options += fmt::format(R"(<option value="{0}" selected>{0}</option>)", EscapeHtml(p.quality));
  std::string hidden;
  for (const auto& [name, value] : {std::pair<const char*, const std::string*>{"max_width", &p.max_width},
                                    {"format", &p.format},
                                    {"keyword", &p.keyword},
                                    {"distill", &p.distill}})
    if (!value->empty()) hidden += fmt::format(R"(<input type="hidden" name="{}" value="{}">)", name, EscapeHtml(*value));
  return fmt::format(
      R"(<div id="tacc-toolbar" style="position:fixed;top:0;right:0;z-index:2147483647;margin:0;padding:2px 6px;)"
      R"(font:12px/1.5 sans-serif;color:#000;background:#ffd;border:1px solid #888;border-top:0;opacity:.92">)"
      R"(<a id="tacc-prefs-link" href="/_tacc/prefs" style="color:#00c">TranSend</a> )"
      R"(<form id="tacc-toolbar-form" method="post" action="/_tacc/prefs" accept-charset="utf-8" style="display:inline;margin:0">)"
      R"(<select id="tacc-quality" name="quality" title="image quality">{}</select> )"
      R"(<label><input type="checkbox" id="tacc-gray" name="gray" value="1"{}>gray</label>{} )"
      R"(<button id="tacc-apply" type="submit">apply</button></form></div>)",
      options, p.gray == "1" ? " checked" : "", hidden);
}

}  // namespace tacc::workers::html
