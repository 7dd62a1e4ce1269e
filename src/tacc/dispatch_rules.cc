#include "tacc/dispatch_rules.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <set>

namespace tacc::tacc_layer {
namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

std::vector<std::string_view> SplitWords(std::string_view s) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
    size_t j = i;
    while (j < s.size() && !std::isspace(static_cast<unsigned char>(s[j]))) ++j;
    if (j > i) out.push_back(s.substr(i, j - i));
    i = j;
  }
  return out;
}

bool IsToken(std::string_view s) {  // class names, arg and profile keys
  if (s.empty()) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.'; });
}

std::optional<int64_t> Number(std::string_view s) {
  int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v < 0) return std::nullopt;
  return v;
}

Result<ChainStep> ParseStep(std::string_view text) {
  ChainStep step;
  auto brace = text.find('{');
  std::string_view name = Trim(text.substr(0, brace));
  if (!IsToken(name)) return Status::InvalidArgument(fmt::format("'{}' is not a worker class name", name));
  step.worker_class = std::string(name);
  if (brace == std::string_view::npos) return step;
  if (text.back() != '}') return Status::InvalidArgument(fmt::format("'{}': arguments must end with '}}'", text));
  std::string_view args = text.substr(brace + 1, text.size() - brace - 2);
  while (!args.empty()) {
    auto comma = args.find(',');
    std::string_view kv = Trim(args.substr(0, comma));
    args = comma == std::string_view::npos ? std::string_view{} : args.substr(comma + 1);
    auto eq = kv.find('=');
    if (eq == std::string_view::npos || !IsToken(Trim(kv.substr(0, eq))))
      return Status::InvalidArgument(fmt::format("'{}': arguments are key=value", text));
    step.args[std::string(Trim(kv.substr(0, eq)))] = std::string(Trim(kv.substr(eq + 1)));
  }
  return step;
}

Result<DispatchRule> ParseRule(const std::string& line) {
  auto bad = [&](const std::string& why) { return Status::InvalidArgument(fmt::format("rule '{}': {}", line, why)); };
  DispatchRule rule;
  rule.text = line;
  auto arrow = line.find("->");
  if (arrow == std::string::npos) return bad("no '->' between the condition and the chain");
  auto words = SplitWords(std::string_view(line).substr(0, arrow));
  if (words.empty()) return bad("no MIME pattern");
  std::string pattern = Lower(words[0]);
  if (pattern == "*") pattern = "*/*";
  auto slash = pattern.find('/');
  if (slash == std::string::npos || slash == 0 || slash + 1 == pattern.size()) return bad("the MIME pattern must be type/subtype, type/* or */*");
  rule.type = pattern.substr(0, slash);
  rule.subtype = pattern.substr(slash + 1);
  if (rule.type == "*" && rule.subtype != "*") return bad("'*/sub' is not a pattern");
  for (size_t i = 1; i < words.size(); ++i) {
    std::string_view w = words[i];
    if (w.starts_with("size>=") || w.starts_with("size<=")) {
      auto n = Number(w.substr(6));
      if (!n) return bad(fmt::format("'{}': the size must be a number of bytes", w));
      (w[4] == '>' ? rule.min_bytes : rule.max_bytes) = *n;
    } else if (w.starts_with("profile.")) {
      auto eq = w.find('=');
      if (eq == std::string_view::npos || !IsToken(w.substr(8, eq - 8))) return bad(fmt::format("'{}': expected profile.<key>=<value>", w));
      rule.profile[std::string(w.substr(8, eq - 8))] = std::string(w.substr(eq + 1));
    } else {
      return bad(fmt::format("'{}' is not a condition (size>=N, size<=N, profile.key=value)", w));
    }
  }
  std::string_view chain = std::string_view(line).substr(arrow + 2);
  while (true) {
    auto bar = chain.find('|');
    std::string_view step = Trim(chain.substr(0, bar));
    if (step.empty()) return bad("an empty step in the chain");
    auto parsed = ParseStep(step);
    if (!parsed.ok()) return bad(parsed.status().message());
    rule.chain.push_back(std::move(*parsed));
    if (bar == std::string_view::npos) break;
    chain = chain.substr(bar + 1);
  }
  for (const auto& s : rule.chain)
    if (s.worker_class == kPlannedStep && (rule.chain.size() > 1 || !s.args.empty()))
      return bad("'auto' (a chain planned per request) must be the whole chain, without arguments");
  return rule;
}

}  // namespace

std::string MimeEssence(std::string_view mime_type) {
  return Lower(Trim(mime_type.substr(0, mime_type.find(';'))));
}

Result<DispatchRules> DispatchRules::Parse(const std::vector<std::string>& rules, int64_t min_transform_bytes) {
  DispatchRules out;
  out.min_bytes_ = min_transform_bytes;
  for (const auto& line : rules) {
    auto r = ParseRule(line);
    if (!r.ok()) return r.status();
    out.rules_.push_back(std::move(*r));
  }
  return out;
}

const DispatchRule* DispatchRules::Match(std::string_view mime_type, int64_t size, const std::map<std::string, std::string>& profile) const {
  if (size < min_bytes_) return nullptr;
  std::string essence = MimeEssence(mime_type);
  auto slash = essence.find('/');
  if (slash == std::string::npos) return nullptr;  // no type, or not a MIME type: pass
  std::string_view type = std::string_view(essence).substr(0, slash), subtype = std::string_view(essence).substr(slash + 1);
  for (const auto& r : rules_) {
    if (r.type != "*" && r.type != type) continue;
    if (r.subtype != "*" && r.subtype != subtype) continue;
    if (r.min_bytes && size < *r.min_bytes) continue;
    if (r.max_bytes && size > *r.max_bytes) continue;
    bool profile_ok = true;
    for (const auto& [k, v] : r.profile) {
      auto it = profile.find(k);
      if (it == profile.end() || it->second != v) profile_ok = false;
    }
    if (profile_ok) return &r;
  }
  return nullptr;
}

std::vector<std::string> DispatchRules::Classes() const {
  std::set<std::string> names;
  for (const auto& r : rules_)
    for (const auto& s : r.chain)
      if (s.worker_class != kPlannedStep) names.insert(s.worker_class);
  return {names.begin(), names.end()};
}

}  // namespace tacc::tacc_layer
