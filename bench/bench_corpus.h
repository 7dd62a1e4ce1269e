// What the image benchmarks (jpeg_worker, format_compare, distill_latency) share: reading
// a file whole, and the files of one set of the corpus bench/image_corpus.sh builds
// (CORPUS/manifest.tsv rows "set file bytes width height quality source", '#' comments).
// Header-only; bench programs only.
#pragma once

#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

namespace tacc::bench {

inline std::string ReadWholeFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

// The paths of the manifest's rows of `set` ("all": every row); empty if there is none.
inline std::vector<std::string> CorpusFiles(const std::string& corpus, const std::string& set) {
  namespace fs = std::filesystem;
  std::vector<std::string> files;
  std::ifstream f(fs::path(corpus) / "manifest.tsv");
  std::string line;
  while (std::getline(f, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream row(line);
    std::string s, file;
    row >> s >> file;
    if (s == "set") continue;
    if (set == "all" || s == set) files.push_back((fs::path(corpus) / file).string());
  }
  return files;
}

}  // namespace tacc::bench
