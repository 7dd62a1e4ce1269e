// ParsedHtml: one page parsed by gumbo (Debian's libgumbo, a real HTML5 tokenizer and
// tree builder) inside a budget, for the HTML workers (issue 8: html_munger,
// keyword_filter) that splice insertions at gumbo's source offsets.
//
// Gumbo has no limits of its own and hostile pages hurt it: a few tens of thousands of
// nested <div>s take it seconds (its scope checks are quadratic in the nesting depth),
// and freeing a tree hundreds of thousands of elements deep recurses off the stack. So
// every allocation gumbo makes goes through an arena of ours: a memory budget and a
// deadline are checked as it allocates, and past either the parse is abandoned (a
// longjmp out of the allocator, back over gumbo's C frames only) and every block freed.
// The tree is freed by freeing the arena, never by gumbo's recursive destroy.
//
// Gumbo reads UTF-8; other bytes (Latin-1, broken UTF-8) are replaced by U+FFFD in its
// own decoded copies only: every offset and original_* piece points into `source`. A
// leading UTF-8 byte order mark is not given to gumbo (browsers drop it too).
#pragma once

#include <gumbo.h>

#include <chrono>
#include <cstddef>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "common/status.h"

namespace tacc::workers::html {

struct ParseLimits {
  size_t max_input_bytes = 8u << 20;  // larger pages are not parsed (answered as they are)
  size_t max_memory_bytes = 256u << 20;
  std::chrono::milliseconds max_time{2000};
};

// Start-up args max_input_mb, max_parse_mb, max_parse_ms over `defaults`;
// InvalidArgument naming the worker and the arg.
Result<ParseLimits> ParseLimitsFromArgs(const std::map<std::string, std::string>& args, std::string_view worker, ParseLimits defaults);

class ParsedHtml {
 public:
  // InvalidArgument: the page is larger than max_input_bytes. Overloaded: the parse went
  // over the memory budget or the time. `source` must outlive the result.
  static Result<std::unique_ptr<ParsedHtml>> Parse(std::string_view source, const ParseLimits& limits);
  ~ParsedHtml();
  ParsedHtml(const ParsedHtml&) = delete;
  ParsedHtml& operator=(const ParsedHtml&) = delete;

  const GumboOutput& output() const { return *output_; }
  std::string_view source() const { return source_; }
  // The offset of `p` (a pointer into source) in source.
  size_t OffsetOf(const char* p) const { return static_cast<size_t>(p - source_.data()); }
  // Whether [p, p+n) lies within source (gumbo's pieces always should; checked anyway).
  bool Within(const char* p, size_t n) const {
    return p >= source_.data() && p <= source_.data() + source_.size() && n <= static_cast<size_t>(source_.data() + source_.size() - p);
  }

  struct Arena;

 private:
  ParsedHtml() = default;
  std::string_view source_;
  std::unique_ptr<Arena> arena_;
  GumboOutput* output_ = nullptr;
};

}  // namespace tacc::workers::html
