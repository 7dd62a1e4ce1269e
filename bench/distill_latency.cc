// Distillation latency against input size (paper Figure 7: "linear in input size, with
// variance"), per type, for any built-in image worker (issue 8): each file goes through
// the worker function in-process REPEAT times; its median time, input and output bytes
// go to a TSV for bench/distill_latency.sh to plot. No HTTP, no cluster: what the worker
// itself costs (end-to-end latency adds the front end's hops; bench/image_peers.sh).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <string>
#include <vector>

#include "bench_corpus.h"
#include "sns/worker_registry.h"

namespace {

namespace fs = std::filesystem;

constexpr const char* kUsage = R"(Usage: distill_latency --worker NAME --type MIME [options] FILE...

Runs the built-in worker NAME over each FILE (given as MIME type) REPEAT times,
in-process on one thread, and prints one TSV row per file:
  type  file  input_bytes  output_bytes  median_ms  min_ms  max_ms  distilled
Options:
  --worker NAME    built-in worker (jpeg, png, gif, ...)
  --type MIME      the files' type (image/jpeg ...)
  --repeat N       runs per file (default 7; the median is reported)
  --arg K=V        a task argument (repeatable); the worker's defaults otherwise
  --header         print the header row first
  -h, --help       this text
)";

}  // namespace

int main(int argc, char** argv) {
  std::string worker, type;
  int repeat = 7;
  bool header = false;
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
    } else if (a == "--worker") {
      worker = next();
    } else if (a == "--type") {
      type = next();
    } else if (a == "--repeat") {
      repeat = std::max(1, std::atoi(next().c_str()));
    } else if (a == "--header") {
      header = true;
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
  if (worker.empty() || type.empty() || files.empty()) {
    std::cerr << kUsage;
    return 2;
  }
  const auto* entry = tacc::sns::FindWorkerImpl(worker);
  if (!entry) {
    std::cerr << "no built-in worker '" << worker << "'\n";
    return 2;
  }
  auto fn = entry->factory({});
  if (!fn.ok()) {
    std::cerr << fn.status().ToString() << "\n";
    return 2;
  }
  if (header) std::printf("type\tfile\tinput_bytes\toutput_bytes\tmedian_ms\tmin_ms\tmax_ms\tdistilled\n");
  for (const auto& path : files) {
    tacc::sns::TaskInput in;
    in.data = tacc::bench::ReadWholeFile(path);
    in.mime_type = type;
    in.args = args;
    std::vector<double> ms;
    size_t out_bytes = 0;
    std::string distilled = "error";
    for (int r = 0; r < repeat; ++r) {
      auto t0 = std::chrono::steady_clock::now();
      auto out = (*fn)->Process(in);
      ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
      if (out.ok()) {
        out_bytes = out->data.size();
        auto d = out->meta.find("distilled");
        distilled = d == out->meta.end() ? "yes" : d->second;
      }
    }
    std::sort(ms.begin(), ms.end());
    std::printf("%s\t%s\t%zu\t%zu\t%.3f\t%.3f\t%.3f\t%s\n", type.c_str(), fs::path(path).filename().c_str(), in.data.size(), out_bytes,
                ms[ms.size() / 2], ms.front(), ms.back(), distilled.c_str());
  }
  return 0;
}
