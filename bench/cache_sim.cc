// cache_sim: trace-driven simulation of the virtual cache's hit rate (SNS paper §4.4:
// "cache simulations to explore the relationship between user population size, cache
// size, and cache hit rate, using LRU replacement"), with the partitions' own store
// (tacc_layer::LruStore: the same budget accounting and eviction) and traces made by
// `tacc trace synth`'s generator in-process.
//
// For each user population P, a day of P x --per-user requests over a catalogue of
// --objects-k x P^--objects-exp URLs (a bigger population shares popular objects but also
// brings its own: the catalogue grows slower than the requests), and for each total
// cache budget, one LRU store that every request's original goes through (a miss stores
// it; errors and bodies over --max-entry-mb are not stored, as the partitions do).
// Partitioning does not enter: keys hash evenly over partitions and each partition's LRU
// sees a uniform sample of the stream, so N partitions of B/N behave as one of B.
//
// Prints TSV: users requests objects budget_mb hit_rate byte_hit_rate hit_rate_2nd_half
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "tacc/lru_store.h"
#include "tools/trace_synth.h"

namespace {

struct Body {
  size_t bytes;
  size_t size_bytes() const { return bytes; }
};

std::vector<double> ParseList(const std::string& s) {
  std::vector<double> out;
  std::stringstream in(s);
  for (std::string item; std::getline(in, item, ',');) out.push_back(std::stod(item));
  return out;
}

constexpr const char* kUsage = R"(Usage: cache_sim [options]
  --users LIST        user populations, comma-separated (default 1000,5000,25000)
  --budgets-mb LIST   total cache budgets in MB (default 16,64,256,1024,4096)
  --per-user N        requests per user in the day (default 55: the paper's 20 M / 8,000 users / 45 days)
  --objects-k K       catalogue = K x users^E URLs (default 300: 8,000 users plateau near the paper's 56%)
  --objects-exp E     (default 0.8)
  --object-zipf S     URL popularity exponent (default 0.75)
  --max-entry-mb M    largest body stored (default 8, the partitions' default)
  --seed N            (default 1)
)";

}  // namespace

int main(int argc, char** argv) {
  std::string users = "1000,5000,25000", budgets = "16,64,256,1024,4096";
  double per_user = 55, k = 300, e = 0.8, zipf = 0.75, max_entry_mb = 8;
  uint64_t seed = 1;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::cerr << a << " needs a value\n" << kUsage;
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--users") users = next();
    else if (a == "--budgets-mb") budgets = next();
    else if (a == "--per-user") per_user = std::stod(next());
    else if (a == "--objects-k") k = std::stod(next());
    else if (a == "--objects-exp") e = std::stod(next());
    else if (a == "--object-zipf") zipf = std::stod(next());
    else if (a == "--max-entry-mb") max_entry_mb = std::stod(next());
    else if (a == "--seed") seed = std::stoull(next());
    else if (a == "-h" || a == "--help") {
      std::cout << kUsage;
      return 0;
    } else {
      std::cerr << "unknown option " << a << "\n" << kUsage;
      return 2;
    }
  }
  std::printf("users\trequests\tobjects\tbudget_mb\thit_rate\tbyte_hit_rate\thit_rate_2nd_half\n");
  for (double p : ParseList(users)) {
    tacc::tools::SynthOptions o;
    o.users = static_cast<uint64_t>(p);
    o.requests = static_cast<uint64_t>(p * per_user);
    o.objects = std::max<uint64_t>(1, static_cast<uint64_t>(k * std::pow(p, e)));
    o.object_zipf = zipf;
    o.seed = seed;
    tacc::tools::ObjectCatalog catalog(o);
    struct Sim {
      double mb;
      std::unique_ptr<tacc::tacc_layer::LruStore<Body>> store;
      uint64_t hits = 0, n = 0, hit_bytes = 0, bytes = 0, hits2 = 0, n2 = 0;
    };
    std::vector<Sim> sims;
    for (double mb : ParseList(budgets)) {
      tacc::tacc_layer::LruStoreOptions lo;
      lo.budget_bytes = static_cast<size_t>(mb * 1048576);
      lo.max_entry_bytes = static_cast<size_t>(max_entry_mb * 1048576);
      sims.push_back({mb, std::make_unique<tacc::tacc_layer::LruStore<Body>>(lo)});
    }
    uint64_t i = 0;
    const uint64_t half = o.requests / 2;
    tacc::tools::SynthesizeTrace(o, catalog, [&](int64_t, uint64_t, const tacc::tools::SynthObject& ob) {
      bool second = i++ >= half;
      for (auto& s : sims) {
        ++s.n;
        s.bytes += static_cast<uint64_t>(ob.bytes);
        if (second) ++s.n2;
        if (s.store->Get(ob.url)) {
          ++s.hits;
          s.hit_bytes += static_cast<uint64_t>(ob.bytes);
          if (second) ++s.hits2;
        } else if (ob.status == 200) {
          s.store->Put(ob.url, std::make_shared<const Body>(Body{static_cast<size_t>(ob.bytes)}));
        }
      }
    });
    for (const auto& s : sims) {
      std::printf("%.0f\t%llu\t%llu\t%.0f\t%.4f\t%.4f\t%.4f\n", p, static_cast<unsigned long long>(o.requests), static_cast<unsigned long long>(o.objects),
                  s.mb, static_cast<double>(s.hits) / static_cast<double>(s.n), static_cast<double>(s.hit_bytes) / static_cast<double>(s.bytes),
                  static_cast<double>(s.hits2) / static_cast<double>(std::max<uint64_t>(1, s.n2)));
    }
    std::fflush(stdout);
  }
  return 0;
}
