// Golden files for the HTML workers' tests (issue 8): tests/data/html/<name>.in.html is
// a page, <name>.out.html what a worker must make of it, byte for byte. Run the tests
// with TACC_UPDATE_GOLDEN=1 to (re)write the .out.html files from what the code does
// now, then read the diff before committing it.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

namespace tacc::workers::html::testing {

inline std::string GoldenPath(const std::string& file) { return std::string(TACC_TEST_DATA_DIR) + "/html/" + file; }

inline std::string ReadGolden(const std::string& file) {
  std::ifstream in(GoldenPath(file), std::ios::binary);
  EXPECT_TRUE(in.good()) << "cannot read " << GoldenPath(file);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// The input of golden case `name`.
inline std::string GoldenInput(const std::string& name) { return ReadGolden(name + ".in.html"); }

// Checks `output` (made from `name`'s input) against the expected file; with
// TACC_UPDATE_GOLDEN=1 writes it instead.
inline void ValidateExpected(const std::string& name, const std::string& input, const std::string& output) {
  if (const char* u = std::getenv("TACC_UPDATE_GOLDEN"); u && std::string(u) == "1") {
    std::ofstream(GoldenPath(name + ".out.html"), std::ios::binary) << output;
    return;
  }
  const std::string expected = ReadGolden(name + ".out.html");
  if (output == expected) return;
  size_t at = 0;
  while (at < output.size() && at < expected.size() && output[at] == expected[at]) ++at;
  ADD_FAILURE() << name << ": output differs from " << name << ".out.html at byte " << at << " (input " << input.size()
                << " bytes)\n  expected: ..." << expected.substr(at > 40 ? at - 40 : 0, 120) << "\n  actual:   ..."
                << output.substr(at > 40 ? at - 40 : 0, 120);
}

}  // namespace tacc::workers::html::testing
