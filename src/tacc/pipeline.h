// Pipeline: runs a chain of worker classes over one object, each step's output the next
// step's input (paper §2.2.1, "composed like a Unix pipeline"), through the SNS layer's
// TaskDispatcher, so every step gets the stubs' load balancing, retries and spawning.
//
// The caller decides what a failure means (TranSend answers the original: §3.1.8's
// approximate answer); RunChain only reports which step failed and why.
#pragma once

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "common/status.h"
#include "sns/service.h"
#include "tacc/dispatch_rules.h"

namespace tacc::tacc_layer {

struct ChainResult {
  sns::TaskOutput output;
  std::vector<std::string> workers;  // who did each step
  int attempts = 0;                  // workers tried over all steps
};

// `input.args` go to every step, under the step's own args from the rule (which win).
// On failure the status message names the step ("step 2 (html_munger): ...").
// The output's cache injections are the last step's (an earlier step's would describe
// an input to the next step, not an answer).
boost::asio::awaitable<Result<ChainResult>> RunChain(sns::TaskDispatcher& tasks, const std::vector<ChainStep>& chain, sns::TaskInput input,
                                                     std::chrono::steady_clock::time_point deadline);

}  // namespace tacc::tacc_layer
