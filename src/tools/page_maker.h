// PageMaker: the text bodies of `tacc trace serve`, each exactly the size the trace
// drew: real-looking HTML pages (title, headings, paragraphs of English-like text,
// links, and <img> tags that reference the trace's own images on the same site, so
// that TranSend's HTML munger has real work and a browser-like client would fetch them),
// the short error pages that servers send for missing images (the paper's Figure 5
// spikes), style sheets and scripts. Deterministic from a seed. Pure; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace tacc::tools {

std::string MakeHtmlPage(int64_t bytes, uint64_t seed, const std::vector<std::string>& image_urls, const std::vector<std::string>& page_urls);
std::string MakeErrorPage(int64_t bytes, const std::string& path);
std::string MakeStyleSheet(int64_t bytes, uint64_t seed);
std::string MakeScript(int64_t bytes, uint64_t seed);
std::string MakeBinary(int64_t bytes, uint64_t seed);

}  // namespace tacc::tools
