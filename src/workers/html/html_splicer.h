// Splicer: the HTML workers' only way to change a page (issue 8). A worker finds offsets
// in the page with gumbo's source positions and inserts text there; nothing is ever
// removed or rewritten, so the output is the input byte for byte between insertions
// (any charset, any broken markup survives). Insertions at one offset keep the order
// they were added in.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace tacc::workers::html {

struct Insertion {
  size_t offset = 0;  // in the input: the text goes just before input[offset]
  std::string text;
};

class Splicer {
 public:
  void Insert(size_t offset, std::string text) { insertions_.push_back({offset, std::move(text)}); }
  bool empty() const { return insertions_.empty(); }
  // The insertions ordered by offset (stable), as Apply uses them.
  std::vector<Insertion> Sorted() const;
  // `input` with every insertion in place. Offsets past the end are clamped to the end.
  std::string Apply(std::string_view input) const;

 private:
  std::vector<Insertion> insertions_;
};

// The inverse, for checks (tests, fuzz targets): *input = `output` less the inserted
// spans, given the insertions Apply used (Sorted()). False if an insertion's text is not
// where it should be in `output`.
bool RemoveInsertions(std::string_view output, const std::vector<Insertion>& sorted, std::string* input);

}  // namespace tacc::workers::html
