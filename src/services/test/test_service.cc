#include "services/test/test_service.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>

#include <boost/url/parse.hpp>

#include "sns/service.h"

namespace tacc::services {
namespace {

namespace bhttp = boost::beast::http;
using Clock = std::chrono::steady_clock;

class TestService : public sns::Service {
 public:
  explicit TestService(const Config& c) : config_(c) {}

  boost::asio::awaitable<http::Reply> Handle(http::Request& req, sns::ServiceContext& ctx) override {
    auto url = boost::urls::parse_origin_form(req.target());
    if (url && url->path() == "/whoami") {  // which front end answered, and whom it saw: for the front door's tests
      const auto& remote = ctx.request_info.remote;
      // client: the socket's peer; for: whom the front end takes the request to be from
      // (the peer, or the client a trusted proxy forwarded for: http.trusted_proxies).
      std::string body = fmt::format("host={} pid={} client={}:{} for={}\n", config_.cluster.host, getpid(), remote.address().to_string(), remote.port(),
                                     ctx.request_info.client.to_string());
      // ?bytes=N: N bytes of filler after it (a large answer; at most 64 MiB).
      for (auto p : url->params())
        if (p.key == "bytes") body.append(std::min<size_t>(std::strtoull(std::string(p.value).c_str(), nullptr, 10), size_t{64} << 20), 'x');
      co_return http::MakeResponse(req, bhttp::status::ok, std::move(body));
    }
    if (!url || !url->path().starts_with("/task/")) {
      co_return http::MakeResponse(req, bhttp::status::not_found, "usage: GET or POST /task/<worker class>?arg=value...\n");
    }
    std::string cls = url->path().substr(6);
    sns::TaskInput in;
    in.data = req.body();
    in.mime_type = std::string(req[bhttp::field::content_type]);
    for (auto p : url->params()) in.args[std::string(p.key)] = std::string(p.value);
    sns::DispatchInfo info;
    auto deadline = Clock::now() + std::chrono::milliseconds(config_.http.request_timeout_ms);
    auto out = co_await ctx.tasks.Dispatch(cls, std::move(in), deadline, &info);
    if (out.ok()) {
      auto res = http::MakeResponse(req, bhttp::status::ok, std::move(out->data), out->mime_type.empty() ? "application/octet-stream" : out->mime_type);
      res.set("X-Tacc-Worker", info.worker);
      res.set("X-Tacc-Attempts", std::to_string(info.attempts));
      co_return res;
    }
    const Status& s = out.status();
    if (s.kind() == ErrorKind::kNotFound && !config_.FindClass(cls))
      co_return http::MakeResponse(req, bhttp::status::not_found, fmt::format("unknown worker class '{}'\n", cls));
    if (s.kind() == ErrorKind::kInvalidArgument || s.kind() == ErrorKind::kWorkerError)
      co_return http::MakeResponse(req, bhttp::status::bad_request, "task failed: " + s.ToString() + "\n");
    // Fallback: the original, marked as such.
    auto res = http::MakeResponse(req, bhttp::status::ok, req.body(), "application/octet-stream");
    res.set("X-Tacc-Fallback", std::string(ErrorKindName(s.kind())));
    res.set("X-Tacc-Attempts", std::to_string(info.attempts));
    co_return res;
  }

 private:
  const Config& config_;
};

}  // namespace
}  // namespace tacc::services

TACC_REGISTER_SERVICE(test, "test", "one request -> one task: /task/<class>?args; falls back to echoing the input",
                      [](const tacc::Config& c) -> tacc::Result<std::unique_ptr<tacc::sns::Service>> {
                        return std::unique_ptr<tacc::sns::Service>(std::make_unique<tacc::services::TestService>(c));
                      });
