#include "workers/html/html_splicer.h"

#include <algorithm>

namespace tacc::workers::html {

std::vector<Insertion> Splicer::Sorted() const {
  std::vector<Insertion> s = insertions_;
  std::stable_sort(s.begin(), s.end(), [](const Insertion& a, const Insertion& b) { return a.offset < b.offset; });
  return s;
}

std::string Splicer::Apply(std::string_view input) const {
  std::vector<Insertion> sorted = Sorted();
  size_t extra = 0;
  for (const auto& i : sorted) extra += i.text.size();
  std::string out;
  out.reserve(input.size() + extra);
  size_t at = 0;
  for (const auto& i : sorted) {
    size_t to = std::min(i.offset, input.size());
    out.append(input.substr(at, to - at));
    out += i.text;
    at = to;
  }
  out.append(input.substr(at));
  return out;
}

bool RemoveInsertions(std::string_view output, const std::vector<Insertion>& sorted, std::string* input) {
  input->clear();
  size_t in_at = 0, out_at = 0;  // in_at: bytes of the input restored so far
  for (const auto& i : sorted) {
    if (i.offset < in_at) return false;
    size_t plain = i.offset - in_at;
    if (out_at + plain > output.size()) return false;
    input->append(output.substr(out_at, plain));
    out_at += plain;
    in_at = i.offset;
    if (output.substr(out_at, i.text.size()) != i.text) return false;
    out_at += i.text.size();
  }
  input->append(output.substr(out_at));
  return true;
}

}  // namespace tacc::workers::html
