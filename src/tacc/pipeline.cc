#include "tacc/pipeline.h"

#include <fmt/format.h>

namespace tacc::tacc_layer {

boost::asio::awaitable<Result<ChainResult>> RunChain(sns::TaskDispatcher& tasks, const std::vector<ChainStep>& chain, sns::TaskInput input,
                                                     std::chrono::steady_clock::time_point deadline) {
  ChainResult result;
  const std::map<std::string, std::string> common_args = input.args;
  const std::map<std::string, std::string> profile = input.profile;  // `input` is moved into each step
  for (size_t i = 0; i < chain.size(); ++i) {
    const ChainStep& step = chain[i];
    input.args = common_args;
    for (const auto& [k, v] : step.args) input.args[k] = v;
    sns::DispatchInfo info;
    auto out = co_await tasks.Dispatch(step.worker_class, std::move(input), deadline, &info);
    result.attempts += info.attempts;
    if (!out.ok())
      co_return Status(out.status().kind(), fmt::format("step {} ({}): {}", i + 1, step.worker_class, out.status().message()));
    result.workers.push_back(info.worker);
    if (i + 1 == chain.size()) {
      result.output = std::move(*out);
      break;
    }
    // The next step's input is this step's output; the profile goes along unchanged.
    sns::TaskInput next;
    next.data = std::move(out->data);
    next.mime_type = std::move(out->mime_type);
    next.profile = profile;
    input = std::move(next);
  }
  co_return result;
}

}  // namespace tacc::tacc_layer
