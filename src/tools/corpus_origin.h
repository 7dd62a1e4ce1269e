// CorpusOrigin: the HTTP request handler of `tacc trace serve`: answers GET and HEAD for
// the URLs of a TraceCorpus (404 for any other), optionally after a delay per URL, fixed
// or spread log-uniformly between two bounds by the URL's hash (the SNS paper's §4.4
// experiment: origins answering anywhere from 100 ms to 100 s, which is what fills a
// front end with outstanding requests). Served by the front ends' own http::Server.
// Lives on one io_context thread (one handler per thread).
#pragma once

#include <boost/asio/io_context.hpp>

#include <atomic>

#include "http/server.h"
#include "tools/trace_corpus.h"

namespace tacc::tools {

struct OriginDelay {
  double min_s = 0;  // with max_s == min_s: fixed
  double max_s = 0;
};
// "0", "200ms" (fixed) or "100ms:100s" (log-uniform per URL).
bool ParseOriginDelay(const std::string& text, OriginDelay* out);

class CorpusOrigin : public http::RequestHandler {
 public:
  CorpusOrigin(boost::asio::io_context& ctx, const TraceCorpus& corpus, OriginDelay delay, std::atomic<uint64_t>* served);
  boost::asio::awaitable<http::Reply> Handle(http::Request& request, const http::RequestInfo& info) override;
  // The delay for a path (deterministic).
  double DelayFor(std::string_view path) const;

 private:
  boost::asio::io_context& ctx_;
  const TraceCorpus& corpus_;
  OriginDelay delay_;
  std::atomic<uint64_t>* served_;
};

}  // namespace tacc::tools
