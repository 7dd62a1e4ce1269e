#include "tools/corpus_origin.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <cmath>
#include <functional>

#include "tools/think_time.h"

namespace tacc::tools {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;

namespace {
// The body of an answer to HEAD: nothing (the server sends the head only).
class NoBody : public http::BodySource {
 public:
  asio::awaitable<Result<std::string_view>> Next() override { co_return std::string_view(); }
};
}  // namespace

bool ParseOriginDelay(const std::string& text, OriginDelay* out) {
  auto colon = text.find(':');
  if (colon == std::string::npos) {
    if (!ParseSeconds(text, &out->min_s)) return false;
    out->max_s = out->min_s;
    return true;
  }
  return ParseSeconds(text.substr(0, colon), &out->min_s) && ParseSeconds(text.substr(colon + 1), &out->max_s) && out->min_s > 0 &&
         out->max_s >= out->min_s;
}

CorpusOrigin::CorpusOrigin(asio::io_context& ctx, const TraceCorpus& corpus, OriginDelay delay, std::atomic<uint64_t>* served)
    : ctx_(ctx), corpus_(corpus), delay_(delay), served_(served) {}

double CorpusOrigin::DelayFor(std::string_view path) const {
  if (delay_.max_s <= 0) return 0;
  if (delay_.max_s == delay_.min_s) return delay_.min_s;
  uint64_t h = std::hash<std::string_view>{}(path) * 0x9e3779b97f4a7c15ULL;
  double u = static_cast<double>(h >> 11) / 9007199254740992.0;
  return delay_.min_s * std::pow(delay_.max_s / delay_.min_s, u);
}

asio::awaitable<http::Reply> CorpusOrigin::Handle(http::Request& request, const http::RequestInfo&) {
  if (request.method() != bhttp::verb::get && request.method() != bhttp::verb::head) {
    auto r = http::MakeResponse(request, bhttp::status::method_not_allowed, "GET and HEAD only\n");
    r.set(bhttp::field::allow, "GET, HEAD");
    co_return r;
  }
  std::string_view target(request.target().data(), request.target().size());
  double wait = DelayFor(TraceCorpus::PathOf(target));
  if (wait > 0) {
    asio::steady_timer timer(ctx_, std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::duration<double>(wait)));
    auto [ec] = co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    (void)ec;
  }
  auto answer = corpus_.Answer(target);
  if (!answer) co_return http::MakeResponse(request, bhttp::status::not_found, "not in the trace\n");
  if (served_) served_->fetch_add(1, std::memory_order_relaxed);
  http::Response r = http::MakeResponse(request, static_cast<bhttp::status>(answer->status), std::move(answer->body), answer->type);
  if (answer->status == 200) {
    r.set(bhttp::field::cache_control, "public, max-age=86400");
    r.set(bhttp::field::last_modified, "Mon, 01 Dec 1997 00:00:00 GMT");
  }
  if (request.method() != bhttp::verb::head) co_return r;
  // HEAD: the same head, Content-Length included, and no body. The server's streamed path
  // knows HEAD (it writes the head only), so the answer goes out through a body source.
  const uint64_t length = r.body().size();
  r.body().clear();
  r.content_length(length);
  http::Reply reply(std::move(r));
  reply.body = std::make_unique<NoBody>();
  co_return reply;
}

}  // namespace tacc::tools
