// TraceCorpus: the origin side of a trace: every URL a trace asks for, answered with a
// body of the status, type and size the trace logged (real pictures from CorpusImages,
// pages from PageMaker), so that `tacc trace serve` can stand in for the web sites of a
// synthetic trace or of a user's own Squid log. URLs are keyed by path and query (the
// host is dropped: `tacc play --origin` points every site at one server). An HTML page
// references images and pages of its own site, as logged in the trace.
//
// Read-only once built; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "tools/corpus_images.h"
#include "tools/trace_record.h"

namespace tacc::tools {

struct CorpusAnswer {
  int status = 200;
  std::string type;
  std::string body;
};

class TraceCorpus {
 public:
  TraceCorpus(const Trace& trace, const CorpusImages* images);
  // The answer for a request target (origin form "/p?q" or absolute); nullopt if the
  // trace never asked for it.
  std::optional<CorpusAnswer> Answer(std::string_view target) const;
  size_t size() const { return entries_.size(); }
  // "/p?q" of an absolute URL or an origin-form target.
  static std::string_view PathOf(std::string_view target);

 private:
  struct Entry {
    int status = 200;
    std::string type;
    int64_t bytes = 0;
    uint32_t site = 0;
  };
  struct Site {
    std::vector<std::string> images;
    std::vector<std::string> pages;
  };
  const CorpusImages* images_;
  std::unordered_map<std::string, Entry> entries_;
  std::vector<Site> sites_;
};

}  // namespace tacc::tools
