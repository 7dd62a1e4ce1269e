#include "services/transend/preferences_page.h"

#include <fmt/format.h>

#include <cctype>
#include <charconv>

#include "common/text.h"

namespace tacc::services {
namespace {

std::optional<std::string> FormDecode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out += ' ';
    } else if (s[i] == '%') {
      if (i + 2 >= s.size() || !std::isxdigit(static_cast<unsigned char>(s[i + 1])) || !std::isxdigit(static_cast<unsigned char>(s[i + 2])))
        return std::nullopt;
      out += static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

bool IntIn(const std::string& v, int lo, int hi) {
  int n = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  return ec == std::errc() && p == v.data() + v.size() && n >= lo && n <= hi;
}

std::string Selected(const tacc_layer::Profile& p, std::string_view key, std::string_view value) {
  return p.GetOr(key, "") == value ? " selected" : "";
}

}  // namespace

std::string RenderPreferencesPage(const tacc_layer::Profile& p, std::string_view who, std::string_view note) {
  return fmt::format(
      R"(<!doctype html>
<html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>TranSend preferences</title></head>
<body>
<h1>TranSend preferences</h1>
<p>{note}</p>
<p>These preferences are kept for {who}. Empty fields are decided from what your browser says (Save-Data, screen size, network).</p>
<form method="post" action="/_tacc/prefs">
<p><label>Distill images <select name="distill"><option value="">(default: on)</option><option value="on"{d_on}>on</option><option value="off"{d_off}>off: everything as the site sends it</option></select></label></p>
<p><label>Image quality (1-100) <input name="quality" size="4" value="{quality}"></label></p>
<p><label>Largest image width in pixels <input name="max_width" size="6" value="{max_width}"></label></p>
<p><label>Format <select name="format"><option value="">(default: auto)</option><option value="auto"{f_auto}>auto</option><option value="jpeg"{f_jpeg}>JPEG</option><option value="webp"{f_webp}>WebP</option><option value="avif"{f_avif}>AVIF</option></select></label></p>
<p><label>Grayscale <select name="gray"><option value="">(default: no)</option><option value="0"{g0}>no</option><option value="1"{g1}>yes</option></select></label></p>
<p><label>Highlight this word in pages <input name="keyword" size="20" maxlength="64" value="{keyword}"></label></p>
<p><label><input type="checkbox" name="remember" value="1"> remember this browser with a cookie (otherwise the preferences go with your network address)</label></p>
<p><button type="submit">Save</button></p>
</form>
</body></html>
)",
      fmt::arg("note", HtmlEscape(note)), fmt::arg("who", HtmlEscape(who)), fmt::arg("d_on", Selected(p, "distill", "on")),
      fmt::arg("d_off", Selected(p, "distill", "off")), fmt::arg("quality", HtmlEscape(p.GetOr("quality", ""))),
      fmt::arg("max_width", HtmlEscape(p.GetOr("max_width", ""))), fmt::arg("f_auto", Selected(p, "format", "auto")),
      fmt::arg("f_jpeg", Selected(p, "format", "jpeg")), fmt::arg("f_webp", Selected(p, "format", "webp")),
      fmt::arg("f_avif", Selected(p, "format", "avif")), fmt::arg("g0", Selected(p, "gray", "0")), fmt::arg("g1", Selected(p, "gray", "1")),
      fmt::arg("keyword", HtmlEscape(p.GetOr("keyword", ""))));
}

Result<tacc_layer::Profile> ParsePreferencesForm(std::string_view body, bool* remember) {
  tacc_layer::Profile p;
  *remember = false;
  if (body.size() > 8192) return Status::InvalidArgument("the form is too large");
  while (!body.empty()) {
    auto amp = body.find('&');
    std::string_view pair = body.substr(0, amp);
    body = amp == std::string_view::npos ? std::string_view{} : body.substr(amp + 1);
    if (pair.empty()) continue;
    auto eq = pair.find('=');
    auto name = FormDecode(pair.substr(0, eq));
    auto value = FormDecode(eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1));
    if (!name || !value) return Status::InvalidArgument("the form is not url-encoded");
    const std::string& n = *name;
    const std::string& v = *value;
    if (n == "remember") {
      *remember = v == "1";
      continue;
    }
    if (n != "quality" && n != "max_width" && n != "format" && n != "gray" && n != "distill" && n != "keyword")
      return Status::InvalidArgument(fmt::format("unknown field '{}'", n.substr(0, 32)));
    if (v.empty()) continue;
    if (n == "quality" && !IntIn(v, 1, 100)) return Status::InvalidArgument("quality must be 1-100");
    if (n == "max_width" && !IntIn(v, 16, 16384)) return Status::InvalidArgument("max_width must be 16-16384 pixels");
    if (n == "format" && v != "auto" && v != "jpeg" && v != "webp" && v != "avif") return Status::InvalidArgument("format must be auto, jpeg, webp or avif");
    if (n == "gray" && v != "0" && v != "1") return Status::InvalidArgument("gray must be 0 or 1");
    if (n == "distill" && v != "on" && v != "off") return Status::InvalidArgument("distill must be on or off");
    if (n == "keyword") {
      if (v.size() > 64) return Status::InvalidArgument("keyword: at most 64 characters");
      for (char c : v)
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return Status::InvalidArgument("keyword: no control characters");
    }
    p.Set(n, v);
  }
  return p;
}

}  // namespace tacc::services
