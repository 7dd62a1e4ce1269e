// Trace synthesis (`tacc trace synth`): a workload with the statistics the SNS paper
// measured on 20 million requests of UC Berkeley's dial-up users (§4.1-4.2):
//
// - MIME mix GIF 50%, HTML 22%, JPEG 18%, other 10% (request-weighted);
// - content lengths per class from SizeModel (means 3,428 / 5,131 / 12,070 B, heavy
//   tails, GIF's two plateaus), plus the small spike of error pages served under image
//   names (status 404, text/html, 200-700 B; Figure 5's left spikes);
// - object popularity Zipf-like (rank^-s) over a fixed catalogue, so caches see
//   realistic locality; users Zipf-like too (a few heavy users, a long tail);
// - arrival times from BurstModel: a daily cycle and self-similar bursts.
//
// Object i's class, size and status are fixed (a URL always names the same thing) and
// laid out with low-discrepancy sequences, so the request-weighted mix and means come
// out close to their targets even though a few popular objects take many requests.
// Deterministic from the seed; a million requests take about a second.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "tools/burst_model.h"
#include "tools/size_model.h"

namespace tacc::tools {

struct SynthOptions {
  uint64_t requests = 1000000;
  uint64_t users = 25000;      // the paper's dial-up user base
  double user_zipf = 1.0;
  uint64_t objects = 200000;   // distinct URLs
  double object_zipf = 0.75;   // Breslau et al. measured 0.64-0.83 at proxies
  uint64_t sites = 2000;
  double gif_share = 0.50, html_share = 0.22, jpeg_share = 0.18;  // the rest is "other"
  double error_share = 0.03;   // of image URLs: error pages mistaken for images
  BurstShape burst;
  uint64_t seed = 1;
  std::string domain = "synth.test";  // sites are s<N>.<domain>
};

struct SynthObject {
  ContentClass cls = ContentClass::kOther;
  int status = 200;
  int64_t bytes = 0;
  std::string type;  // Content-Type the origin sends
  std::string url;   // absolute
};

class ObjectCatalog {
 public:
  explicit ObjectCatalog(const SynthOptions& o);
  const SynthObject& at(uint64_t rank) const { return objects_[rank]; }
  uint64_t size() const { return objects_.size(); }

 private:
  void Calibrate(const SynthOptions& o);
  std::vector<SynthObject> objects_;
};

// Calls `emit(t_us, user, object)` for every request, in time order.
void SynthesizeTrace(const SynthOptions& o, const ObjectCatalog& catalog,
                     const std::function<void(int64_t t_us, uint64_t user, const SynthObject& object)>& emit);

std::string_view ContentClassName(ContentClass c);

}  // namespace tacc::tools
