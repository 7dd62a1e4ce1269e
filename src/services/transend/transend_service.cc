// TranSend's front-end logic (paper §2.3, §3.1; issue 7): the "transend" service.
//
// This first slice is the forward proxy for plain HTTP: a request in absolute form
// (`GET http://host/path HTTP/1.1`) from a client in proxy.client_networks is fetched
// from the origin by the OriginClient — whose DestinationPolicy refuses non-public
// addresses unless proxy.allowed_destinations allows them, checked on the resolved
// address — and answered with the hop-by-hop fields removed and our Via added on both
// legs. A request that already carries our Via has looped (508). Failures answer with a
// short page: 403 (client or destination not allowed), 502 (origin broken, lying or too
// big), 504 (origin too slow). Still to come in issue 7: CONNECT, HTTPS origins, the
// reverse proxy and the URL API, streaming, dispatch to distillers, the cache, profiles.
#include <fmt/format.h>

#include <boost/url/parse.hpp>

#include "http/destination_policy.h"
#include "http/origin_client.h"
#include "http/proxy_headers.h"
#include "sns/service.h"

namespace tacc::services {
namespace {

namespace bhttp = boost::beast::http;

http::Response Page(const http::Request& req, bhttp::status status, const std::string& text) {
  return http::MakeResponse(req, status, "tacc: " + text + "\n");
}

class TransendService : public sns::Service {
 public:
  TransendService(const Config& c, http::NetworkList clients, http::DestinationPolicy destinations)
      : clients_(std::move(clients)),
        origin_(http::OriginLimits{c.proxy.connect_timeout_ms, c.proxy.read_timeout_ms, c.proxy.max_body_bytes, c.http.max_header_bytes},
                std::move(destinations)),
        via_name_("tacc-" + c.cluster.name) {}

  boost::asio::awaitable<http::Response> Handle(http::Request& req, sns::ServiceContext& ctx) override {
    if (http::ViaHasLoop(req, via_name_)) co_return Page(req, bhttp::status::loop_detected, "this request has come through this proxy before (Via)");
    std::string_view target = req.target();
    if (req.method() == bhttp::verb::connect) co_return Page(req, bhttp::status::not_implemented, "CONNECT is not supported yet");
    if (target.starts_with("/")) co_return Page(req, bhttp::status::not_found, "use this front end as an HTTP proxy (absolute-form requests)");
    co_return co_await Forward(req, ctx);
  }

 private:
  boost::asio::awaitable<http::Response> Forward(http::Request& req, sns::ServiceContext& ctx) {
    if (!clients_.Contains(ctx.request_info.remote.address()))
      co_return Page(req, bhttp::status::forbidden, "forward proxying is not offered to this client's network (proxy.client_networks)");
    auto url = boost::urls::parse_absolute_uri(req.target());
    if (!url) co_return Page(req, bhttp::status::bad_request, "the request target is not an absolute URL");
    if (url->scheme() != "http") co_return Page(req, bhttp::status::not_implemented, "only http:// URLs are proxied so far");
    if (!url->has_authority() || url->host().empty() || url->has_userinfo())
      co_return Page(req, bhttp::status::bad_request, "the URL must name a host (and no user information)");
    uint16_t port = 80;
    if (url->has_port()) {
      if (url->port_number() == 0) co_return Page(req, bhttp::status::bad_request, "bad port in the URL");
      port = url->port_number();
    }
    std::string host = url->host_address();  // an IPv6 literal without its brackets
    std::string origin_target = url->encoded_path().empty() ? "/" : std::string(url->encoded_path());
    if (url->has_query()) origin_target += "?" + std::string(url->encoded_query());

    http::OriginClient::Request out{req.method(), origin_target, 11};
    for (const auto& f : req) out.insert(f.name_string(), f.value());
    http::RemoveHopByHop(out);
    out.set(bhttp::field::host, std::string(url->encoded_host_and_port()));
    http::AppendVia(out, http::ProtocolVersion(req.version()), via_name_);
    out.body() = req.body();

    auto res = co_await origin_.Fetch(host, port, std::move(out));
    if (!res.ok()) {
      const Status& s = res.status();
      switch (s.kind()) {
        case ErrorKind::kForbidden: co_return Page(req, bhttp::status::forbidden, s.message());
        case ErrorKind::kTimeout: co_return Page(req, bhttp::status::gateway_timeout, s.message());
        default: co_return Page(req, bhttp::status::bad_gateway, s.message());
      }
    }
    http::Response answer = std::move(*res);
    http::RemoveHopByHop(answer);
    http::AppendVia(answer, http::ProtocolVersion(answer.version()), via_name_);
    answer.version(req.version());
    answer.keep_alive(req.keep_alive());
    answer.prepare_payload();
    co_return answer;
  }

  http::NetworkList clients_;
  http::OriginClient origin_;
  std::string via_name_;
};

}  // namespace
}  // namespace tacc::services

TACC_REGISTER_SERVICE(transend, "transend", "TranSend: forward HTTP proxy (first slice of issue 7)",
                      [](const tacc::Config& c) -> tacc::Result<std::unique_ptr<tacc::sns::Service>> {
                        auto clients = tacc::http::NetworkList::Make(c.proxy.client_networks);
                        if (!clients.ok()) return tacc::Status::InvalidArgument("setting 'proxy.client_networks': " + clients.status().message());
                        auto dest = tacc::http::DestinationPolicy::Make(c.proxy.allowed_destinations);
                        if (!dest.ok()) return tacc::Status::InvalidArgument("setting 'proxy.allowed_destinations': " + dest.status().message());
                        return std::unique_ptr<tacc::sns::Service>(
                            std::make_unique<tacc::services::TransendService>(c, std::move(*clients), std::move(*dest)));
                      });
