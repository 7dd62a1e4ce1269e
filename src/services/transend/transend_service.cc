// TranSend's front-end logic (paper §2.3, §3.1; issue 7): the "transend" service.
//
// This first slice proxies plain HTTP, two ways in:
//   * Forward proxy: a request in absolute form (`GET http://host/path HTTP/1.1`) from a
//     client in proxy.client_networks is fetched from the host it names, through an
//     OriginClient whose DestinationPolicy refuses non-public addresses unless
//     proxy.allowed_destinations allows them (checked on the resolved address).
//   * Reverse proxy: a request in origin form whose Host is configured in
//     proxy.reverse_origins is fetched from that origin (the operator's choice, so any
//     address), with X-Forwarded-For added.
// Either way the hop-by-hop fields are removed and our Via added on both legs; a request
// that already carries our Via has looped (508). Failures answer with a short page: 403
// (client or destination not allowed), 404 (no origin for that Host), 502 (origin
// broken, lying or too big), 504 (origin too slow). Still to come in issue 7: CONNECT,
// HTTPS origins, the URL API, streaming, dispatch to distillers, the cache, profiles.
#include <fmt/format.h>

#include <boost/url/parse.hpp>
#include <cctype>
#include <map>

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

struct ReverseOrigin {
  std::string host;  // the origin's host (name or address) and port
  uint16_t port = 80;
};

// "host=http://origin[:port]" entries of proxy.reverse_origins, by lower-case Host.
Result<std::map<std::string, ReverseOrigin>> ParseReverseOrigins(const std::vector<std::string>& entries) {
  std::map<std::string, ReverseOrigin> out;
  for (const auto& e : entries) {
    auto eq = e.find('=');
    auto bad = [&](const std::string& why) { return Status::InvalidArgument(fmt::format("'{}': {} (expected host=http://origin[:port])", e, why)); };
    if (eq == std::string::npos || eq == 0) return bad("no host");
    auto url = boost::urls::parse_absolute_uri(std::string_view(e).substr(eq + 1));
    if (!url || url->scheme() != "http" || url->host().empty()) return bad("the origin is not an http:// URL with a host");
    if (!url->encoded_path().empty() && url->encoded_path() != "/") return bad("the origin must not have a path");
    ReverseOrigin o{url->host_address(), static_cast<uint16_t>(url->has_port() ? url->port_number() : 80)};
    if (o.port == 0) return bad("bad port");
    std::string host = e.substr(0, eq);
    for (auto& c : host) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    out[host] = o;
  }
  return out;
}

class TransendService : public sns::Service {
 public:
  TransendService(const Config& c, http::NetworkList clients, http::DestinationPolicy destinations, std::map<std::string, ReverseOrigin> reverse,
                  http::DestinationPolicy anywhere)
      : clients_(std::move(clients)),
        forward_(Limits(c), std::move(destinations)),
        reverse_client_(Limits(c), std::move(anywhere)),
        reverse_(std::move(reverse)),
        via_name_("tacc-" + c.cluster.name) {}

  boost::asio::awaitable<http::Response> Handle(http::Request& req, sns::ServiceContext& ctx) override {
    if (http::ViaHasLoop(req, via_name_)) co_return Page(req, bhttp::status::loop_detected, "this request has come through this proxy before (Via)");
    if (req.method() == bhttp::verb::connect) co_return Page(req, bhttp::status::not_implemented, "CONNECT is not supported yet");
    if (req.target().starts_with("/")) co_return co_await Reverse(req, ctx);
    co_return co_await Forward(req, ctx);
  }

 private:
  static http::OriginLimits Limits(const Config& c) {
    return http::OriginLimits{c.proxy.connect_timeout_ms, c.proxy.read_timeout_ms, c.proxy.max_body_bytes, c.http.max_header_bytes};
  }

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
    std::string target = url->encoded_path().empty() ? "/" : std::string(url->encoded_path());
    if (url->has_query()) target += "?" + std::string(url->encoded_query());
    co_return co_await Relay(req, forward_, url->host_address(), port, std::move(target), std::string(url->encoded_host_and_port()), nullptr);
  }

  boost::asio::awaitable<http::Response> Reverse(http::Request& req, sns::ServiceContext& ctx) {
    std::string host(req[bhttp::field::host]);
    for (auto& c : host) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    auto it = reverse_.find(host);
    if (it == reverse_.end()) {
      auto colon = host.rfind(':');
      if (colon != std::string::npos && host.find(']', colon) == std::string::npos) it = reverse_.find(host.substr(0, colon));
    }
    if (it == reverse_.end())
      co_return Page(req, bhttp::status::not_found,
                     reverse_.empty() ? "use this front end as an HTTP proxy (absolute-form requests); no reverse origins are configured"
                                      : "no origin is configured for this Host (proxy.reverse_origins)");
    std::string client = ctx.request_info.remote.address().to_string();
    co_return co_await Relay(req, reverse_client_, it->second.host, it->second.port, std::string(req.target()), std::string(req[bhttp::field::host]),
                             &client);
  }

  // Sends `req` on to host:port as `target` with Host `host_header`, and the answer back.
  // `forwarded_for`: the client's address for X-Forwarded-For (reverse proxy), or null.
  boost::asio::awaitable<http::Response> Relay(http::Request& req, const http::OriginClient& origin, const std::string& host, uint16_t port,
                                               std::string target, std::string host_header, const std::string* forwarded_for) {
    http::OriginClient::Request out{req.method(), target, 11};
    for (const auto& f : req) out.insert(f.name_string(), f.value());
    http::RemoveHopByHop(out);
    out.set(bhttp::field::host, host_header);
    if (forwarded_for) {
      std::string xff(out["X-Forwarded-For"]);
      out.set("X-Forwarded-For", xff.empty() ? *forwarded_for : xff + ", " + *forwarded_for);
    }
    http::AppendVia(out, http::ProtocolVersion(req.version()), via_name_);
    out.body() = req.body();

    auto res = co_await origin.Fetch(host, port, std::move(out));
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
  http::OriginClient forward_;         // client-chosen destinations: the SSRF policy applies
  http::OriginClient reverse_client_;  // operator-chosen origins: any address
  std::map<std::string, ReverseOrigin> reverse_;
  std::string via_name_;
};

}  // namespace
}  // namespace tacc::services

TACC_REGISTER_SERVICE(transend, "transend", "TranSend: forward and reverse HTTP proxy (first slice of issue 7)",
                      [](const tacc::Config& c) -> tacc::Result<std::unique_ptr<tacc::sns::Service>> {
                        auto clients = tacc::http::NetworkList::Make(c.proxy.client_networks);
                        if (!clients.ok()) return tacc::Status::InvalidArgument("setting 'proxy.client_networks': " + clients.status().message());
                        auto dest = tacc::http::DestinationPolicy::Make(c.proxy.allowed_destinations);
                        if (!dest.ok()) return tacc::Status::InvalidArgument("setting 'proxy.allowed_destinations': " + dest.status().message());
                        auto reverse = tacc::services::ParseReverseOrigins(c.proxy.reverse_origins);
                        if (!reverse.ok()) return tacc::Status::InvalidArgument("setting 'proxy.reverse_origins': " + reverse.status().message());
                        auto anywhere = tacc::http::DestinationPolicy::Make({"0.0.0.0/0", "::/0"});
                        if (!anywhere.ok()) return anywhere.status();
                        return std::unique_ptr<tacc::sns::Service>(std::make_unique<tacc::services::TransendService>(
                            c, std::move(*clients), std::move(*dest), std::move(*reverse), std::move(*anywhere)));
                      });
