// The `jpeg` worker alone (issue 8): TranSend's JPEG distiller function, called in-process
// over the corpus in a loop on one thread, with no HTTP and no cluster. Set beside
// bench/jpeg_loop (the plain libjpeg-turbo loop, the practical limit) in the same run,
// it tells what the worker's own logic costs: the issue's target is at least 80% of the
// loop's images per second.
//
// Same inputs and output lines as jpeg_loop: the corpus's manifest (bench/image_corpus.sh)
// or files, a human line, then "RESULT key=value ...".
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "bench_corpus.h"
#include "sns/worker_registry.h"

namespace {

namespace fs = std::filesystem;

constexpr const char* kUsage = R"(Usage: jpeg_worker [options] [FILE.jpg ...]

Runs TranSend's `jpeg` worker function over each JPEG in a loop for SECONDS on one thread
(in-process: no HTTP, no cluster); prints images/s and the mean output bytes.

Inputs: the FILEs, or the rows of --set in CORPUS/manifest.tsv (bench/image_corpus.sh).
  --corpus DIR     corpus directory (default bench/corpus)
  --set NAME       small | large | all (default small)
  --seconds S      how long to loop (default 5)
  --arg K=V        a task argument (repeatable), e.g. --arg scale=0.5 --arg q=25
                   (the worker's defaults are the paper's workload: scale 0.5, quality 25)
  -h, --help       this text

Output: a human line, then one line "RESULT key=value ..." for scripts.
)";

double CpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) + (u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

}  // namespace

int main(int argc, char** argv) {
  std::string corpus = "bench/corpus", set = "small";
  double seconds = 5;
  std::map<std::string, std::string> args;
  std::vector<std::string> files;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::cerr << a << " needs a value\n" << kUsage;
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "-h" || a == "--help") {
      std::cout << kUsage;
      return 0;
    } else if (a == "--corpus") {
      corpus = next();
    } else if (a == "--set") {
      set = next();
    } else if (a == "--seconds") {
      seconds = std::atof(next().c_str());
    } else if (a == "--arg") {
      std::string kv = next();
      auto eq = kv.find('=');
      if (eq == std::string::npos) {
        std::cerr << "--arg takes K=V\n";
        return 2;
      }
      args[kv.substr(0, eq)] = kv.substr(eq + 1);
    } else if (!a.empty() && a[0] == '-') {
      std::cerr << "unknown option " << a << "\n" << kUsage;
      return 2;
    } else {
      files.push_back(a);
    }
  }
  if (files.empty()) files = tacc::bench::CorpusFiles(corpus, set);
  if (files.empty()) {
    std::cerr << "no inputs (give files, or build the corpus: bench/image_corpus.sh)\n";
    return 2;
  }
  const auto* entry = tacc::sns::FindWorkerImpl("jpeg");
  if (!entry) {
    std::cerr << "no `jpeg` worker is built in\n";
    return 2;
  }
  auto fn = entry->factory({});
  if (!fn.ok()) {
    std::cerr << fn.status().ToString() << "\n";
    return 2;
  }
  std::vector<tacc::sns::TaskInput> inputs;
  size_t out_bytes = 0;
  for (const auto& path : files) {
    tacc::sns::TaskInput in;
    in.data = tacc::bench::ReadWholeFile(path);
    in.mime_type = "image/jpeg";
    in.args = args;
    auto out = (*fn)->Process(in);
    if (!out.ok()) {
      std::cerr << path << ": " << out.status().ToString() << "\n";
      return 1;
    }
    out_bytes += out->data.size();
    inputs.push_back(std::move(in));
  }
  const auto start = std::chrono::steady_clock::now();
  const double cpu0 = CpuSeconds();
  uint64_t done = 0;
  while (std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() < seconds) {
    for (const auto& in : inputs) {
      auto out = (*fn)->Process(in);
      if (!out.ok()) return 1;
      ++done;
    }
  }
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const double cpu = CpuSeconds() - cpu0;
  const double mean_out = static_cast<double>(out_bytes) / static_cast<double>(inputs.size());
  std::printf("jpeg worker: %zu inputs, %llu images in %.2f s: %.1f images/s wall, %.1f per CPU second; mean output %.0f bytes\n",
              inputs.size(), static_cast<unsigned long long>(done), wall, static_cast<double>(done) / wall, static_cast<double>(done) / cpu,
              mean_out);
  std::printf("RESULT images=%llu wall_s=%.3f cpu_s=%.3f per_wall_s=%.1f per_cpu_s=%.1f mean_out_bytes=%.0f inputs=%zu\n",
              static_cast<unsigned long long>(done), wall, cpu, static_cast<double>(done) / wall, static_cast<double>(done) / cpu, mean_out,
              inputs.size());
  return 0;
}
