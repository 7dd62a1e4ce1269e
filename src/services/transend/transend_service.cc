// TranSend's front-end logic (paper §2.3, §3.1; issue 7): the "transend" service.
//
// This slice proxies HTTP and HTTPS origins, three ways in:
//   * Forward proxy: a request in absolute form (`GET http://host/path HTTP/1.1`) from a
//     client in proxy.client_networks is fetched from the host it names, through an
//     OriginClient whose DestinationPolicy refuses non-public addresses unless
//     proxy.allowed_destinations allows them (checked on the resolved address).
//   * Reverse proxy: a request in origin form whose Host is configured in
//     proxy.reverse_origins is fetched from that origin (the operator's choice, so any
//     address), with X-Forwarded-For added.
//   * CONNECT host:port from a client in proxy.client_networks, to a port in
//     proxy.connect_ports, to an address the DestinationPolicy allows: a tunnel of
//     untouched bytes (HTTPS can't be transformed).
// Answers stream from the origin to the client (bounded memory, any size); origin
// connections are pooled per origin and thread; HTTPS origins are verified.
// Either way the hop-by-hop fields are removed and our Via added on both legs; a request
// that already carries our Via has looped (508). Failures answer with a short page: 403
// (client or destination not allowed), 404 (no origin for that Host), 502 (origin
// broken, lying or too big), 504 (origin too slow). Answers go through the chains the
// dispatch rules name (distillers), the virtual cache (response_cache.h) and the user's
// profile; the URL API transforms a given URL like an image CDN.
#include <fmt/format.h>

#include <boost/url/parse.hpp>
#include <boost/url/url.hpp>
#include <algorithm>
#include <cctype>
#include <charconv>
#include <limits>
#include <map>
#include <thread>

#include "http/content_decoding.h"
#include "http/destination_policy.h"
#include "http/origin_client.h"
#include "http/proxy_headers.h"
#include "http/tunnel.h"
#include "sns/service.h"
#include "tacc/cache_policy.h"
#include "tacc/dispatch_rules.h"
#include "tacc/fat_url.h"
#include "tacc/pipeline.h"
#include "tacc/accept_list.h"
#include "tacc/chain_planner.h"
#include "sns/worker_registry.h"
#include "services/transend/cached_response.h"
#include "services/transend/response_cache.h"
#include "services/transend/client_hints.h"
#include "services/transend/preferences_page.h"
#include "services/transend/refinement.h"
#include "tacc/cached_profile_store.h"
#include "tacc/sqlite_profile_store.h"
#include "tacc/url_api.h"
#include "tacc/user_token.h"

namespace tacc::services {
namespace {

namespace bhttp = boost::beast::http;

http::Response Page(const http::Request& req, bhttp::status status, const std::string& text) {
  return http::MakeResponse(req, status, "tacc: " + text + "\n");
}

// "host=http[s]://origin[:port]" entries of proxy.reverse_origins, by lower-case Host.
Result<std::map<std::string, http::OriginEndpoint>> ParseReverseOrigins(const std::vector<std::string>& entries) {
  std::map<std::string, http::OriginEndpoint> out;
  for (const auto& e : entries) {
    auto eq = e.find('=');
    auto bad = [&](const std::string& why) { return Status::InvalidArgument(fmt::format("'{}': {} (expected host=http[s]://origin[:port])", e, why)); };
    if (eq == std::string::npos || eq == 0) return bad("no host");
    auto url = boost::urls::parse_absolute_uri(std::string_view(e).substr(eq + 1));
    if (!url || (url->scheme() != "http" && url->scheme() != "https") || url->host().empty())
      return bad("the origin is not an http:// or https:// URL with a host");
    if (!url->encoded_path().empty() && url->encoded_path() != "/") return bad("the origin must not have a path");
    const bool tls = url->scheme() == "https";
    http::OriginEndpoint o{tls, url->host_address(), static_cast<uint16_t>(url->has_port() ? url->port_number() : (tls ? 443 : 80))};
    if (o.port == 0) return bad("bad port");
    std::string host = e.substr(0, eq);
    for (auto& c : host) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    out[host] = o;
  }
  return out;
}

// proxy.connect_ports: "443", "8000-8100".
Result<std::vector<std::pair<uint16_t, uint16_t>>> ParsePortRanges(const std::vector<std::string>& entries) {
  std::vector<std::pair<uint16_t, uint16_t>> out;
  for (const auto& e : entries) {
    auto dash = e.find('-');
    auto num = [](std::string_view t) -> int {
      int v = 0;
      auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
      return (ec == std::errc() && p == t.data() + t.size() && v >= 1 && v <= 65535) ? v : -1;
    };
    int lo = num(std::string_view(e).substr(0, dash));
    int hi = dash == std::string::npos ? lo : num(std::string_view(e).substr(dash + 1));
    if (lo < 0 || hi < lo) return Status::InvalidArgument(fmt::format("'{}' is not a port or a range of ports (a-b)", e));
    out.emplace_back(static_cast<uint16_t>(lo), static_cast<uint16_t>(hi));
  }
  return out;
}

// A CONNECT tunnel: the origin connection is open; the client's comes with Run().
class TunnelTakeover : public http::ConnectionTakeover {
 public:
  TunnelTakeover(std::unique_ptr<http::OriginConnection> origin, std::chrono::milliseconds idle) : origin_(std::move(origin)), idle_(idle) {}
  boost::asio::awaitable<void> Run(boost::asio::ip::tcp::socket& client, boost::beast::flat_buffer& unread) override {
    co_await http::RelayTunnel(client, unread, origin_->tcp().socket(), idle_);
    origin_->Close();
  }

 private:
  std::unique_ptr<http::OriginConnection> origin_;
  std::chrono::milliseconds idle_;
};

// Cache-Control of `fields` has the no-transform directive (RFC 9111 §5.2.1.6, §5.2.2.6).
bool NoTransform(const boost::beast::http::fields& fields) {
  for (auto it = fields.find(bhttp::field::cache_control); it != fields.end() && it->name() == bhttp::field::cache_control; ++it) {
    std::string v(it->value());
    for (auto& c : v) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (v.find("no-transform") != std::string::npos) return true;
  }
  return false;
}

// The client asks for a fresh, exact answer (a reload): Cache-Control: no-cache or
// Pragma: no-cache. §3.1.8: "a reload gets the exact variant when capacity allows".
bool WantsExact(const http::Request& req) {
  std::string cc(req[bhttp::field::cache_control]), pragma(req[bhttp::field::pragma]);
  return cc.find("no-cache") != std::string::npos || pragma.find("no-cache") != std::string::npos;
}

// Header values we write from our own messages: one line, printable.
std::string HeaderSafe(std::string_view text) {
  std::string out;
  for (char c : text) out += (c == '\r' || c == '\n' || static_cast<unsigned char>(c) < 0x20) ? ' ' : c;
  if (out.size() > 300) out.resize(300);
  return out;
}

ResponseCacheOptions CacheOptions(const Config& c) {
  ResponseCacheOptions o;
  o.worker_class = c.cache.worker_class;
  o.timeout = std::chrono::milliseconds(c.cache.timeout_ms);
  // cache.local_budget_mb is the front end's: each thread (one ResponseCache each) gets its share.
  const unsigned threads = c.frontend.threads > 0 ? static_cast<unsigned>(c.frontend.threads) : std::max(1u, std::thread::hardware_concurrency());
  o.local_budget_bytes = static_cast<size_t>(c.cache.local_budget_mb * 1024 * 1024 / threads);
  o.local_max_object_bytes = static_cast<size_t>(c.cache.local_max_object_bytes);
  o.local_ttl = std::chrono::milliseconds(c.cache.local_ttl_ms);
  o.variants_per_object = c.cache.variants_per_object;
  return o;
}

Result<std::shared_ptr<const tacc_layer::DispatchRules>> MakeRules(const Config& c) {
  auto rules = tacc_layer::DispatchRules::Parse(c.dispatch.rules, c.dispatch.min_transform_bytes);
  if (!rules.ok()) return Status::InvalidArgument("setting 'dispatch.rules': " + rules.status().message());
  return std::make_shared<const tacc_layer::DispatchRules>(std::move(*rules));
}

// The planner for `auto` rules: every class whose types are declared (in the
// configuration, else by its worker's registration), at its cost_hint.
std::shared_ptr<const tacc_layer::ChainPlanner> MakePlanner(const Config& c) {
  std::vector<tacc_layer::ClassTypes> classes;
  for (const auto& [name, cc] : c.classes) {
    tacc_layer::ClassTypes t{name, cc.takes, cc.produces, cc.cost_hint};
    if (const auto* impl = sns::FindWorkerImpl(cc.worker.empty() ? name : cc.worker)) {
      if (t.takes.empty()) t.takes = impl->takes;
      if (t.produces.empty()) t.produces = impl->produces;
    }
    if (!t.takes.empty() && !t.produces.empty()) classes.push_back(std::move(t));
  }
  return std::make_shared<const tacc_layer::ChainPlanner>(std::move(classes));
}

// Who a request is for: the user token (a cookie, else the client's address) and that
// user's preferences from the customization database.
struct User {
  std::string token;
  bool from_cookie = false;
  std::map<std::string, std::string> profile;
};

// What a front end shows at "/" when no reverse origin claims the Host: how to use it.
std::string DemoPage(const std::string& host) {
  std::string h;
  for (char c : host) h += (std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == ':' || c == '-' || c == '[' || c == ']') ? c : '_';
  if (h.empty()) h = "127.0.0.1:8080";
  return fmt::format(R"(<!doctype html>
<html><head><meta charset="utf-8"><title>TranSend on tacc</title></head><body>
<h1>TranSend on tacc</h1>
<p>This front end is an adaptive web proxy. Three ways in:</p>
<ol>
<li><b>Forward proxy.</b> Point a browser's HTTP proxy (or <code>curl -x http://{h}</code>) at this address. Plain HTTP pages and images
come through the workers the dispatch rules name; HTTPS goes through untouched (CONNECT, to the ports in <code>proxy.connect_ports</code>).
Only clients in <code>proxy.client_networks</code> may use it (default: this machine).</li>
<li><b>Reverse proxy.</b> Put a site behind it: <code>--set 'proxy.reverse_origins=["www.example.org=https://origin.example.org"]'</code>;
requests whose Host is www.example.org are fetched from the origin.</li>
<li><b>URL API.</b> <code>/_tacc/t/&lt;signature&gt;/&lt;options&gt;/&lt;base64url source URL&gt;</code>, like an image CDN:
make a key with <code>tacc url key</code>, set it in <code>url_api.keys</code>, and sign paths with
<code>tacc url sign http://site/photo.jpg -o w:320 -o q:60 --base http://{h}</code>.</li>
</ol>
<p><a href="/_tacc/prefs">Your preferences</a> (quality, size, format, grayscale, distillation on or off) are kept in the customization database.</p>
<p>Answers carry <code>X-Tacc-Chain</code> (workers that made them) with <code>Server-Timing: distill;dur=</code> (how long they took, ms), <code>X-Tacc-Cache</code> (hit, miss, revalidated, variant-hit) and,
when a worker failed or was overloaded, <code>X-Tacc-Approximate</code>.</p>
</body></html>
)",
                     fmt::arg("h", h));
}

struct ProxySetup {
  http::NetworkList clients;
  http::DestinationPolicy destinations;  // where clients may send us
  http::DestinationPolicy anywhere;      // operator-chosen origins
  std::map<std::string, http::OriginEndpoint> reverse;
  std::vector<std::pair<uint16_t, uint16_t>> connect_ports;
  std::shared_ptr<boost::asio::ssl::context> tls;
  std::shared_ptr<const tacc_layer::DispatchRules> rules;
  std::vector<tacc_layer::UrlSigningKey> url_keys;
  std::unique_ptr<tacc_layer::SqliteProfileStore> profile_db;
};

class TransendService : public sns::Service {
 public:
  TransendService(const Config& c, ProxySetup setup)
      : clients_(std::move(setup.clients)),
        destinations_(setup.destinations),
        forward_(Limits(c), std::move(setup.destinations), setup.tls),
        reverse_client_(Limits(c), std::move(setup.anywhere), setup.tls),
        reverse_(std::move(setup.reverse)),
        connect_ports_(std::move(setup.connect_ports)),
        connect_timeout_ms_(c.proxy.connect_timeout_ms),
        tunnel_idle_(c.proxy.tunnel_idle_timeout_ms),
        rules_(std::move(setup.rules)),
        planner_(MakePlanner(c)),
        url_api_enabled_(c.url_api.enabled),
        url_keys_(std::move(setup.url_keys)),
        allow_unsigned_(c.url_api.allow_unsigned),
        sizes_(c.url_api.sizes),
        max_redirects_(c.url_api.max_redirects),
        chain_deadline_(c.dispatch.chain_deadline_ms),
        overload_queue_(c.dispatch.overload_queue),
        cookie_(c.profiles.cookie),
        cache_enabled_(c.cache.enabled),
        cache_options_(CacheOptions(c)),
        cache_max_object_(c.cache.max_object_bytes),
        profile_db_(std::move(setup.profile_db)),
        profiles_(std::make_unique<tacc_layer::CachedProfileStore>(
            *profile_db_, tacc_layer::ProfileCacheOptions{static_cast<size_t>(c.profiles.cache_entries), std::chrono::milliseconds(c.profiles.cache_ttl_ms),
                                            &tacc_layer::ProfileChangeFeed::Process()})),
        via_name_("tacc-" + c.cluster.name) {}

  Status Reload(const Config& c) override {
    auto rules = MakeRules(c);
    if (!rules.ok()) return rules.status();
    rules_ = std::move(*rules);
    planner_ = MakePlanner(c);
    chain_deadline_ = std::chrono::milliseconds(c.dispatch.chain_deadline_ms);
    overload_queue_ = c.dispatch.overload_queue;
    return Status::Ok();
  }

  boost::asio::awaitable<http::Reply> Handle(http::Request& req, sns::ServiceContext& ctx) override {
    if (http::ViaHasLoop(req, via_name_)) co_return Page(req, bhttp::status::loop_detected, "this request has come through this proxy before (Via)");
    if (req.method() == bhttp::verb::connect) co_return co_await Connect(req, ctx);
    if (cache_enabled_ && !cache_) cache_ = std::make_unique<ResponseCache>(ctx.tasks, cache_options_);
    // The front end's own pages, asked for in origin-form or, through the forward proxy,
    // on any host (src/services/transend/refinement.h).
    const auto own = OwnPath(req.target());
    const std::string own_path = own ? own->substr(0, own->find('?')) : std::string();
    if (own_path == kPreferencesPath) co_return co_await Preferences(req, ctx);
    auto user = co_await LoadUser(req, ctx);
    if (!user.ok()) co_return Page(req, bhttp::status::service_unavailable, "the customization database is unavailable: " + user.status().message());
    if (own_path == kOriginalPath || own_path == kRefinePagePath) co_return co_await Refine(req, ctx, *user, *own);
    if (url_api_enabled_ && req.target().starts_with(tacc_layer::kUrlApiPrefix)) co_return co_await UrlApi(req, ctx, *user);
    const std::map<std::string, std::string> no_args;  // named: see the GCC 12 note in Forward()
    if (req.target().starts_with("/")) co_return co_await Reverse(req, ctx, *user, no_args);
    co_return co_await Forward(req, ctx, *user, no_args);
  }

 private:
  // The request's user and profile (through the front end's write-through cache).
  boost::asio::awaitable<Result<User>> LoadUser(const http::Request& req, sns::ServiceContext& ctx) {
    User u;
    auto cookie = tacc_layer::UserTokenFromCookies(req, cookie_);
    u.from_cookie = cookie.has_value();
    u.token = cookie ? *cookie : tacc_layer::AddressUserToken(ctx.request_info.client);
    auto profile = co_await profiles_->Get(u.token);
    if (!profile.ok()) co_return profile.status();
    if (*profile)
      for (const auto& [k, v] : (*profile)->entries()) u.profile[k] = v;
    co_return u;
  }

  // GET: the form with the user's preferences; POST: saves them (a new cookie if asked).
  boost::asio::awaitable<http::Reply> Preferences(http::Request& req, sns::ServiceContext& ctx) {
    auto user = co_await LoadUser(req, ctx);
    if (!user.ok()) co_return Page(req, bhttp::status::service_unavailable, "the customization database is unavailable: " + user.status().message());
    auto who = [](const User& u) { return u.from_cookie ? std::string("this browser (cookie)") : "your network address (" + u.token.substr(5) + ")"; };
    if (req.method() == bhttp::verb::get || req.method() == bhttp::verb::head) {
      tacc_layer::Profile p(tacc_layer::Profile::Map(user->profile.begin(), user->profile.end()));
      auto res = http::MakeResponse(req, bhttp::status::ok, RenderPreferencesPage(p, who(*user), ""), "text/html; charset=utf-8");
      res.set(bhttp::field::cache_control, "no-store");
      co_return res;
    }
    if (req.method() != bhttp::verb::post) co_return Page(req, bhttp::status::method_not_allowed, "the preferences page takes GET and POST");
    bool remember = false;
    auto form = ParsePreferencesForm(req.body(), &remember);
    if (!form.ok()) co_return Page(req, bhttp::status::bad_request, form.status().message());
    std::string set_cookie;
    if (remember && !user->from_cookie) {
      auto token = tacc_layer::NewUserToken();
      if (!token.ok()) co_return Page(req, bhttp::status::internal_server_error, token.status().message());
      user->token = *token;
      user->from_cookie = true;
      set_cookie = tacc_layer::UserTokenSetCookie(*token, cookie_);
    }
    Status saved = co_await profiles_->Put(user->token, *form);
    if (!saved.ok()) co_return Page(req, bhttp::status::service_unavailable, "could not save: " + saved.message());
    auto res = http::MakeResponse(req, bhttp::status::ok, RenderPreferencesPage(*form, who(*user), "Saved."), "text/html; charset=utf-8");
    res.set(bhttp::field::cache_control, "no-store");
    if (!set_cookie.empty()) res.set(bhttp::field::set_cookie, set_cookie);
    co_return res;
  }

  static http::OriginLimits Limits(const Config& c) {
    http::OriginLimits l;
    l.connect_timeout_ms = c.proxy.connect_timeout_ms;
    l.read_timeout_ms = c.proxy.read_timeout_ms;
    l.max_body_bytes = c.proxy.max_body_bytes;
    l.max_header_bytes = c.http.max_header_bytes;
    l.pool.max_per_origin = c.proxy.max_connections_per_origin;
    l.pool.max_idle_per_origin = c.proxy.max_idle_per_origin;
    l.pool.max_idle_total = c.proxy.max_idle_connections;
    l.pool.idle_timeout_ms = c.proxy.idle_origin_timeout_ms;
    return l;
  }

  static http::Reply Failure(const http::Request& req, const Status& s) {
    switch (s.kind()) {
      case ErrorKind::kForbidden: return Page(req, bhttp::status::forbidden, s.message());
      case ErrorKind::kTimeout: return Page(req, bhttp::status::gateway_timeout, s.message());
      default: return Page(req, bhttp::status::bad_gateway, s.message());
    }
  }

  boost::asio::awaitable<http::Reply> Connect(http::Request& req, sns::ServiceContext& ctx) {
    if (!clients_.Contains(ctx.request_info.client))
      co_return Page(req, bhttp::status::forbidden, "tunnelling is not offered to this client's network (proxy.client_networks)");
    // authority-form: host:port, the host maybe an [IPv6] literal.
    auto authority = boost::urls::parse_authority(req.target());
    if (!authority || authority->host().empty() || !authority->has_port() || authority->has_userinfo() || authority->port_number() == 0)
      co_return Page(req, bhttp::status::bad_request, "CONNECT needs host:port");
    uint16_t port = authority->port_number();
    bool allowed = false;
    for (auto [lo, hi] : connect_ports_) allowed = allowed || (port >= lo && port <= hi);
    if (!allowed) co_return Page(req, bhttp::status::forbidden, fmt::format("tunnels to port {} are not allowed (proxy.connect_ports)", port));
    http::OriginEndpoint where{false, authority->host_address(), port};
    auto conn = co_await http::OriginConnection::Open(where, destinations_, nullptr, connect_timeout_ms_);
    if (!conn.ok()) co_return Failure(req, conn.status());
    http::Response ok{bhttp::status::ok, req.version()};
    http::AppendVia(ok, http::ProtocolVersion(req.version()), via_name_);
    http::Reply reply(std::move(ok));
    reply.takeover = std::make_unique<TunnelTakeover>(std::move(*conn), tunnel_idle_);
    co_return reply;
  }

  // `args` go to every step of a chain the answer takes (refinement's zoom).
  boost::asio::awaitable<http::Reply> Forward(http::Request& req, sns::ServiceContext& ctx, const User& user, const std::map<std::string, std::string>& args) {
    if (!clients_.Contains(ctx.request_info.client))
      co_return Page(req, bhttp::status::forbidden, "forward proxying is not offered to this client's network (proxy.client_networks)");
    auto url = boost::urls::parse_absolute_uri(req.target());
    if (!url) co_return Page(req, bhttp::status::bad_request, "the request target is not an absolute URL");
    if (url->scheme() != "http" && url->scheme() != "https") co_return Page(req, bhttp::status::not_implemented, "only http:// and https:// URLs are proxied");
    if (!url->has_authority() || url->host().empty() || url->has_userinfo())
      co_return Page(req, bhttp::status::bad_request, "the URL must name a host (and no user information)");
    const bool tls = url->scheme() == "https";
    uint16_t port = tls ? 443 : 80;
    if (url->has_port()) {
      if (url->port_number() == 0) co_return Page(req, bhttp::status::bad_request, "bad port in the URL");
      port = url->port_number();
    }
    std::string target = url->encoded_path().empty() ? "/" : std::string(url->encoded_path());
    if (url->has_query()) target += "?" + std::string(url->encoded_query());
    // Named, not a temporary in the co_await: GCC 12 destroys aggregate temporaries of a
    // co_await expression twice.
    http::OriginEndpoint where{tls, url->host_address(), port};
    std::string host_header(url->encoded_host_and_port());
    co_return co_await Relay(req, ctx, user, forward_, std::move(where), std::move(target), std::move(host_header), nullptr, args);
  }

  boost::asio::awaitable<http::Reply> Reverse(http::Request& req, sns::ServiceContext& ctx, const User& user, const std::map<std::string, std::string>& args) {
    std::string host(req[bhttp::field::host]);
    for (auto& c : host) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    auto it = reverse_.find(host);
    if (it == reverse_.end()) {
      auto colon = host.rfind(':');
      if (colon != std::string::npos && host.find(']', colon) == std::string::npos) it = reverse_.find(host.substr(0, colon));
    }
    if (it == reverse_.end() && req.target() == "/" && (req.method() == bhttp::verb::get || req.method() == bhttp::verb::head)) {
      auto res = http::MakeResponse(req, bhttp::status::ok, DemoPage(std::string(req[bhttp::field::host])), "text/html; charset=utf-8");
      co_return res;
    }
    if (it == reverse_.end())
      co_return Page(req, bhttp::status::not_found,
                     reverse_.empty() ? "use this front end as an HTTP proxy (absolute-form requests); no reverse origins are configured"
                                      : "no origin is configured for this Host (proxy.reverse_origins)");
    std::string client = ctx.request_info.remote.address().to_string();
    std::string target(req.target());
    std::string host_header(req[bhttp::field::host]);
    co_return co_await Relay(req, ctx, user, reverse_client_, it->second, std::move(target), std::move(host_header), &client, args);
  }

  // /_tacc/orig and /_tacc/refine: the original of a distilled image, the region around
  // a click at full resolution, or the page to click on.
  boost::asio::awaitable<http::Reply> Refine(http::Request& req, sns::ServiceContext& ctx, User user, const std::string& own) {
    if (req.method() != bhttp::verb::get && req.method() != bhttp::verb::head)
      co_return Page(req, bhttp::status::method_not_allowed, "refinement answers GET and HEAD");
    auto r = ParseRefineRequest(own);
    if (!r.ok()) co_return Page(req, bhttp::status::bad_request, r.status().message());
    if (r->page) {
      auto res = http::MakeResponse(req, bhttp::status::ok, RenderRefinePage(r->url), "text/html; charset=utf-8");
      res.set(bhttp::field::cache_control, "no-store");
      co_return res;
    }
    std::map<std::string, std::string> args;
    if (r->zoom) args = ZoomArgs(*r->zoom);
    else user.profile["distill"] = "off";  // the original, whatever the rules say
    // An image on the host this request came to (a reverse-proxied site) is asked for
    // the way the page was; any other goes through the forward proxy and its checks.
    auto u = boost::urls::parse_absolute_uri(r->url);
    std::string authority(u->encoded_host_and_port()), host(req[bhttp::field::host]);
    if (req.target().starts_with("/") && boost::beast::iequals(authority, host)) {
      std::string target = u->encoded_path().empty() ? "/" : std::string(u->encoded_path());
      if (u->has_query()) target += "?" + std::string(u->encoded_query());
      req.target(target);
      co_return co_await Reverse(req, ctx, user, args);
    }
    req.target(r->url);
    co_return co_await Forward(req, ctx, user, args);
  }

  // Checks the URL API's options: known names, values in range, an allowed size.
  Status CheckTransformOptions(const std::map<std::string, std::string>& options) const {
    static const std::map<std::string, std::pair<int, int>> kRanges = {{"w", {1, 16384}}, {"h", {1, 16384}}, {"q", {1, 100}},
                                                                       {"dpr", {1, 4}},   {"gray", {0, 1}}};
    for (const auto& [k, v] : options) {
      if (k == "f") {
        if (v != "auto" && v != "jpeg" && v != "webp" && v != "avif" && v != "png" && v != "gif")
          return Status::InvalidArgument(fmt::format("f:{} is not a format (auto, jpeg, webp, avif, png, gif)", v));
        continue;
      }
      auto r = kRanges.find(k);
      if (r == kRanges.end()) return Status::InvalidArgument(fmt::format("unknown option '{}' (w, h, q, f, dpr, gray)", k));
      int n = 0;
      auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
      if (ec != std::errc() || p != v.data() + v.size() || n < r->second.first || n > r->second.second)
        return Status::InvalidArgument(fmt::format("{}:{} is out of range {}..{}", k, v, r->second.first, r->second.second));
    }
    if (!sizes_.empty() && (options.count("w") || options.count("h"))) {
      std::string size = (options.count("w") ? options.at("w") : "") + "x" + (options.count("h") ? options.at("h") : "");
      if (std::find(sizes_.begin(), sizes_.end(), size) == sizes_.end())
        return Status::InvalidArgument(fmt::format("size {} is not one of url_api.sizes", size));
    }
    return Status::Ok();
  }

  // GET /_tacc/t/<signature>/<options>/<base64url source>: fetches the source (following
  // redirects, each hop checked like the first) and transforms it with the options.
  boost::asio::awaitable<http::Reply> UrlApi(http::Request& req, sns::ServiceContext& ctx, const User& user) {
    if (req.method() != bhttp::verb::get && req.method() != bhttp::verb::head)
      co_return Page(req, bhttp::status::method_not_allowed, "the URL API answers GET and HEAD");
    auto parsed = tacc_layer::ParseTransformPath(std::string_view(req.target()).substr(tacc_layer::kUrlApiPrefix.size()));
    if (!parsed.ok()) co_return Page(req, bhttp::status::bad_request, parsed.status().message());
    Status signed_ok = tacc_layer::VerifySignature(*parsed, url_keys_, allow_unsigned_);
    if (!signed_ok.ok()) co_return Page(req, bhttp::status::forbidden, signed_ok.message());
    Status options_ok = CheckTransformOptions(parsed->options);
    if (!options_ok.ok()) co_return Page(req, bhttp::status::bad_request, options_ok.message());

    std::string url = parsed->source_url;
    for (int hop = 0;; ++hop) {
      auto u = boost::urls::parse_absolute_uri(url);
      if (!u || (u->scheme() != "http" && u->scheme() != "https") || u->host().empty() || u->has_userinfo())
        co_return Page(req, bhttp::status::bad_request, "the source must be an http:// or https:// URL with a host");
      const bool tls = u->scheme() == "https";
      http::OriginEndpoint where{tls, u->host_address(), static_cast<uint16_t>(u->has_port() ? u->port_number() : (tls ? 443 : 80))};
      std::string target = u->encoded_path().empty() ? "/" : std::string(u->encoded_path());
      if (u->has_query()) target += "?" + std::string(u->encoded_query());
      http::OriginClient::Request out{req.method(), target, 11};
      out.set(bhttp::field::host, u->encoded_host_and_port());
      out.set(bhttp::field::user_agent, "tacc");
      out.set(bhttp::field::accept_encoding, "identity");
      http::AppendVia(out, "1.1", via_name_);
      auto opened = co_await forward_.Open(std::move(where), std::move(out));
      if (!opened.ok()) co_return Failure(req, opened.status());
      int status = (*opened)->head().result_int();
      auto location = (*opened)->head().find(bhttp::field::location);
      if ((status == 301 || status == 302 || status == 303 || status == 307 || status == 308) && location != (*opened)->head().end()) {
        if (hop >= max_redirects_) co_return Page(req, bhttp::status::bad_gateway, fmt::format("more than {} redirects (url_api.max_redirects)", max_redirects_));
        boost::urls::url next;
        auto ref = boost::urls::parse_uri_reference(location->value());
        if (!ref || !boost::urls::resolve(*u, *ref, next)) co_return Page(req, bhttp::status::bad_gateway, "the source redirects to a malformed Location");
        url = std::string(next.buffer());
        continue;  // the next hop is checked by the policy like the first
      }
      if (status != 200) co_return Page(req, bhttp::status::bad_gateway, fmt::format("the source answered {}", status));
      co_return co_await Deliver(req, ctx, user, forward_.limits(), std::move(*opened), parsed->options, nullptr);
    }
  }

  // Sends `req` on to `where` as `target` with Host `host_header`, and streams the
  // answer back. `forwarded_for`: the client's address for X-Forwarded-For, or null.
  boost::asio::awaitable<http::Reply> Relay(http::Request& req, sns::ServiceContext& ctx, const User& user, http::OriginClient& origin, http::OriginEndpoint where,
                                            std::string target, std::string host_header, const std::string* forwarded_for,
                                            const std::map<std::string, std::string>& args) {
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

    // The virtual cache (RFC 9111, shared): fresh -> answered from it; stale -> the
    // origin is asked to revalidate; only-if-cached and nothing usable -> 504.
    // Every chain step learns the object's absolute URL (the HTML munger resolves
    // relative image URLs against it), besides the caller's args (refinement's zoom).
    std::map<std::string, std::string> step_args = args;
    step_args["url"] = (where.tls ? "https://" : "http://") + host_header + target;
    CacheSlot slot;
    std::shared_ptr<const CachedResponse> stored;
    const std::string url_key = tacc_layer::FatUrl(where.Key() + target, {});
    if (cache_ && req.method() == bhttp::verb::get) {
      slot.lookup = co_await cache_->Find(url_key, req);
      stored = slot.lookup.stored;
      if (stored) {
        tacc_layer::StoredResponseView view{stored->status, &stored->headers, stored->secondary_key, stored->request_time, stored->response_time};
        auto d = tacc_layer::Lookup(req.method(), req, view, std::chrono::system_clock::now());
        if (d.action == tacc_layer::LookupAction::kServe)
          co_return co_await FromCache(req, ctx, user, *stored, d.current_age, "hit", slot.lookup.key, step_args);
        if (d.action == tacc_layer::LookupAction::kGatewayTimeout)
          co_return Page(req, bhttp::status::gateway_timeout, "only-if-cached: nothing usable is cached");
        if (d.action == tacc_layer::LookupAction::kRevalidate) {
          out.erase(bhttp::field::if_none_match);
          out.erase(bhttp::field::if_modified_since);
          for (const auto& f : d.conditional_headers) out.set(f.name_string(), f.value());
        } else {
          stored.reset();
        }
      } else if (tacc_layer::DecideOnMiss(req).action == tacc_layer::LookupAction::kGatewayTimeout) {
        co_return Page(req, bhttp::status::gateway_timeout, "only-if-cached: nothing is cached");
      }
      slot.request_time = std::chrono::system_clock::now();
    }

    auto opened = co_await origin.Open(std::move(where), std::move(out));
    if (!opened.ok()) co_return Failure(req, opened.status());
    // RFC 9111 §4.4: a successful unsafe request (POST, PUT, DELETE...) makes what is
    // stored for its URL outdated.
    if (cache_ && tacc_layer::InvalidatesStored(req.method(), (*opened)->head().result_int())) co_await cache_->Invalidate(url_key);
    if (stored && (*opened)->head().result_int() == 304) {
      const auto now = std::chrono::system_clock::now();
      CachedResponse refreshed = *stored;
      if (tacc_layer::UpdateFromNotModified(refreshed.headers, (*opened)->head(), now)) {
        refreshed.request_time = slot.request_time;
        refreshed.response_time = now;
        co_await cache_->Replace(slot.lookup.key, refreshed);
        co_return co_await FromCache(req, ctx, user, refreshed, std::chrono::seconds(0), "revalidated", slot.lookup.key, step_args);
      }
    }
    const CacheSlot* cache_slot = slot.lookup.primary.empty() ? nullptr : &slot;
    co_return co_await Deliver(req, ctx, user, origin.limits(), std::move(*opened), step_args, cache_slot);
  }

  // Where an answer goes in the virtual cache: its key, and when it was asked for.
  struct CacheSlot {
    CacheLookup lookup;  // the URL's entry as found
    std::chrono::system_clock::time_point request_time;
  };

  // An answer from the virtual cache, with its Age, through the chains like any other.
  boost::asio::awaitable<http::Reply> FromCache(http::Request& req, sns::ServiceContext& ctx, const User& user, const CachedResponse& stored,
                                                std::chrono::seconds age, std::string_view how, const std::string& key,
                                                const std::map<std::string, std::string>& args) {
    http::Response answer{static_cast<bhttp::status>(stored.status), req.version()};
    for (const auto& f : stored.headers) answer.insert(f.name_string(), f.value());
    answer.set(bhttp::field::age, tacc_layer::AgeFieldValue(age));
    answer.set("X-Tacc-Cache", how);
    http::AppendVia(answer, "1.1", via_name_);
    answer.keep_alive(req.keep_alive());
    answer.body() = stored.body;
    co_return co_await WholeAnswer(req, ctx, user, std::move(answer), args, key);
  }

  // Answers `req` with what an origin sent: through a chain of workers if a rule wants
  // it (with `args` for every step), else as it came, streamed if large. An answer the
  // cache may keep (RFC 9111) and small enough (cache.max_object_bytes) is read whole
  // and stored under `slot`. `args` (the URL API's options) win over the client's hints.
  boost::asio::awaitable<http::Reply> Deliver(http::Request& req, sns::ServiceContext& ctx, const User& user, const http::OriginLimits& limits,
                                              std::unique_ptr<http::OriginResponse> opened, std::map<std::string, std::string> args,
                                              const CacheSlot* slot) {
    http::OriginResponse& res = *opened;
    http::Response answer{res.head()};
    http::RemoveHopByHop(answer);
    const auto length = res.content_length();
    const std::string mime(answer[bhttp::field::content_type]);
    const bool storable = slot && length && *length <= static_cast<uint64_t>(cache_max_object_) &&
                          tacc_layer::Storable(req.method(), req, answer.result_int(), answer) == tacc_layer::StoreDecision::kStore;
    bhttp::fields to_store;
    if (storable) to_store = answer.base();  // as the origin sent it, less hop-by-hop fields
    http::AppendVia(answer, http::ProtocolVersion(answer.version()), via_name_);
    answer.version(req.version());
    answer.keep_alive(req.keep_alive());

    // Might a chain of workers want this object? (WholeAnswer decides, body in hand.)
    const bool distill = !user.profile.contains("distill") || user.profile.at("distill") != "off";
    const tacc_layer::DispatchRule* rule = nullptr;
    if (distill && req.method() == bhttp::verb::get && answer.result() == bhttp::status::ok && !mime.empty() && !NoTransform(req) && !NoTransform(answer))
      rule = rules_->Match(mime, length ? static_cast<int64_t>(*length) : std::numeric_limits<int64_t>::max(), user.profile);
    if (rule && length && *length > static_cast<uint64_t>(limits.max_body_bytes)) rule = nullptr;  // too big to hold: pass

    // A body a chain will read, one the cache keeps, or one small enough to fit in one
    // piece is read before the head goes out, so that a broken origin still gets a clean
    // 502; anything else streams, and a failure midway can only cut the connection (the
    // client sees fewer bytes than announced).
    const size_t piece = limits.stream_piece_bytes;
    const bool small = length && *length <= piece && req.method() != bhttp::verb::head;
    if (rule || small || storable) {
      bool complete = false;
      size_t limit = rule ? static_cast<size_t>(limits.max_body_bytes) : std::max<size_t>(piece, length ? static_cast<size_t>(*length) : 0);
      auto body = co_await res.ReadUpTo(limit, &complete);
      if (!body.ok()) co_return Failure(req, body.status());
      if (!complete) {  // no length, and more than a chain may hold: it passes, streamed
        http::Reply reply(std::move(answer));
        reply.body = std::make_unique<http::PrefixedBody>(std::move(*body), std::move(opened));
        co_return reply;
      }
      opened.reset();  // the connection goes back to the pool now
      // Distilled variants are kept only for an original the cache may keep: a private
      // or no-store answer's variants are as private as it is.
      std::string cache_key;
      if (storable) {
        CachedResponse entry;
        entry.status = answer.result_int();
        entry.headers = std::move(to_store);
        tacc_layer::EnsureDate(entry.headers, std::chrono::system_clock::now());
        entry.body = *body;
        entry.request_time = slot->request_time;
        entry.response_time = std::chrono::system_clock::now();
        entry.secondary_key = tacc_layer::SecondaryKey(entry.headers, req).value_or("");
        cache_key = co_await cache_->StoreOriginal(slot->lookup, std::move(entry));
        answer.set("X-Tacc-Cache", "miss");
      }
      answer.body() = std::move(*body);
      co_return co_await WholeAnswer(req, ctx, user, std::move(answer), std::move(args), cache_key);
    }
    http::Reply reply(std::move(answer));
    reply.body = std::move(opened);  // streamed: the body is never held whole
    co_return reply;
  }

  // An answer whose body is in hand: through the chain a rule names, if any.
  boost::asio::awaitable<http::Reply> WholeAnswer(http::Request& req, sns::ServiceContext& ctx, const User& user, http::Response answer,
                                                  std::map<std::string, std::string> args, const std::string& cache_key) {
    {
      auto hinted = ClientHintArgs(req);
      for (auto& [k, v] : args) hinted[k] = v;
      args = std::move(hinted);
    }
    const std::string mime(answer[bhttp::field::content_type]);
    if (answer.result() == bhttp::status::ok && mime.starts_with("text/html")) answer.set("Accept-CH", kAcceptCh);  // ask for hints next time
    const bool distill = !user.profile.contains("distill") || user.profile.at("distill") != "off";
    // This request's own reference: a SIGHUP reload may replace rules_ while the chain
    // runs, and `rule` points into these rules.
    const std::shared_ptr<const tacc_layer::DispatchRules> rules = rules_;
    const tacc_layer::DispatchRule* rule = nullptr;
    if (distill && req.method() == bhttp::verb::get && answer.result() == bhttp::status::ok && !mime.empty() && !NoTransform(req) && !NoTransform(answer))
      rule = rules->Match(mime, static_cast<int64_t>(answer.body().size()), user.profile);
    if (!rule) co_return answer;
    // An `auto` rule: the cheapest chain from this type to one the client takes.
    std::optional<tacc_layer::DispatchRule> planned;
    if (rule->planned()) {
      auto plan = planner_->Plan(mime, tacc_layer::AcceptList::Parse(req[bhttp::field::accept]));
      if (!plan) {
        answer.set(bhttp::field::vary, "Accept");  // another client may get a chain
        answer.set("X-Tacc-Untransformed", HeaderSafe("no chain of worker classes turns " + tacc_layer::MimeEssence(mime) + " into a type this client accepts"));
        co_return answer;
      }
      planned = *rule;
      planned->text = rule->text + " => " + plan->Text();  // the plan shapes the variant
      planned->chain = std::move(plan->steps);
      rule = &*planned;
    }
    // A worker reads the body as it is meant, so a compressed one is decoded first
    // (bounded: a bomb is refused and the answer passes as it came).
    if (auto ce = answer.find(bhttp::field::content_encoding); ce != answer.end() && !boost::beast::iequals(ce->value(), "identity")) {
      auto decoded = http::DecodeContent(ce->value(), answer.body(), static_cast<size_t>(forward_.limits().max_body_bytes));
      if (!decoded.ok()) {
        answer.set("X-Tacc-Untransformed", HeaderSafe("cannot decode the body: " + decoded.status().message()));
        co_return answer;
      }
      answer.body() = std::move(*decoded);
      answer.erase(bhttp::field::content_encoding);
    }
    // What shaped the answer: the hints, and the cookie if the profile came from one.
    answer.set(bhttp::field::vary, std::string(kHintVary) + (user.from_cookie ? ", Cookie" : ""));
    std::string original = std::move(answer.body());
    co_return co_await Transform(req, ctx, std::move(answer), std::move(original), *rule, user.profile, std::move(args), cache_key);
  }

  // Runs `rule`'s chain over `original`; on failure, overload or a passed deadline the
  // answer is approximate (paper §3.1.8): another variant of the same original from the
  // cache if there is one, else the original.
  boost::asio::awaitable<http::Reply> Transform(const http::Request& req, sns::ServiceContext& ctx, http::Response answer, std::string original,
                                                const tacc_layer::DispatchRule& rule, const std::map<std::string, std::string>& profile,
                                                std::map<std::string, std::string> args, const std::string& cache_key) {
    const std::string& first = rule.chain.front().worker_class;
    // A variant made before from this very original (same validator) with the same
    // parameters is in the cache under its fat URL.
    const bool cached = cache_ && !cache_key.empty();
    const std::string* original_key = cached ? &cache_key : nullptr;  // named: see the GCC 12 note in Forward()
    std::map<std::string, std::string> shape;
    if (cached) {
      shape = VariantShape(answer, original, rule, profile, args);
      std::string variant_key = ResponseCache::VariantKey(cache_key, shape);
      if (auto hit = co_await cache_->FindVariant(variant_key)) co_return AsVariant(std::move(answer), *hit, "variant-hit");
    }
    if (overload_queue_ > 0 && !WantsExact(req)) {
      auto load = ctx.tasks.ClassLoad(first);
      if (load && *load > overload_queue_) {
        std::string reason = fmt::format("class {} is overloaded (mean queue {:.1f})", first, *load);
        co_return co_await Approximate(std::move(answer), std::move(original), reason, original_key);
      }
    }
    sns::TaskInput in;
    in.data = original;  // the original stays, for the fallback
    in.mime_type = std::string(answer[bhttp::field::content_type]);
    in.profile = profile;
    in.args = std::move(args);
    const auto chain_started = std::chrono::steady_clock::now();
    auto done = co_await tacc_layer::RunChain(ctx.tasks, rule.chain, std::move(in), chain_started + chain_deadline_);
    const double chain_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - chain_started).count();
    if (!done.ok()) {
      std::string reason = done.status().message();
      co_return co_await Approximate(std::move(answer), std::move(original), reason, original_key);
    }
    // A new representation: the original's validators and length no longer describe it.
    answer.body() = std::move(done->output.data);
    if (!done->output.mime_type.empty()) answer.set(bhttp::field::content_type, done->output.mime_type);
    answer.erase(bhttp::field::etag);
    answer.erase(bhttp::field::content_md5);
    answer.erase(bhttp::field::accept_ranges);
    answer.erase(bhttp::field::content_encoding);
    std::string chain;
    for (const auto& s : rule.chain) chain += (chain.empty() ? "" : "|") + s.worker_class;
    answer.set("X-Tacc-Chain", chain);
    // The chain's time (queueing, the workers' work, the trips to them), for tools and
    // browsers' developer tools: what the distillation added to this answer.
    answer.set("Server-Timing", fmt::format("distill;dur={:.1f};desc=\"{}\"", chain_ms, chain));
    if (cached) {
      std::string variant_key = ResponseCache::VariantKey(cache_key, shape);
      CachedResponse v;
      v.headers.set(bhttp::field::content_type, answer[bhttp::field::content_type]);
      v.headers.set("X-Tacc-Chain", chain);
      v.body = answer.body();
      co_await cache_->StoreVariant(cache_key, variant_key, std::move(v));
      // What the last worker offered besides (§3.1.5): the variants these same
      // parameters, changed as it says, would have made.
      for (auto& inj : done->output.injections) {
        auto inj_shape = InjectedShape(shape, inj.args);
        if (!inj_shape || inj.data.size() > static_cast<size_t>(cache_max_object_)) continue;
        CachedResponse iv;
        iv.headers.set(bhttp::field::content_type, inj.mime_type.empty() ? std::string(answer[bhttp::field::content_type]) : inj.mime_type);
        iv.headers.set("X-Tacc-Chain", chain);
        iv.body = std::move(inj.data);
        std::string inj_key = ResponseCache::VariantKey(cache_key, *inj_shape);
        co_await cache_->StoreVariant(cache_key, inj_key, std::move(iv));
      }
    }
    co_return answer;
  }

  // What shapes a variant of `original`: the task's args, the user's profile, the rule,
  // and which original it was made from (its validator, else a hash of its bytes).
  static std::map<std::string, std::string> VariantShape(const http::Response& answer, const std::string& original, const tacc_layer::DispatchRule& rule,
                                                         const std::map<std::string, std::string>& profile,
                                                         const std::map<std::string, std::string>& args) {
    std::map<std::string, std::string> shape = args;
    for (const auto& [k, v] : profile) shape["profile." + k] = v;
    shape["rule"] = rule.text;
    std::string validator(answer[bhttp::field::etag]);
    if (validator.empty()) validator = std::string(answer[bhttp::field::last_modified]);
    shape["source"] = validator.empty() ? std::to_string(std::hash<std::string>{}(original)) : validator;
    return shape;
  }

  // `shape` with a worker's injected args changed; none if the injection tries to change
  // what is not a task argument (the profile, the rule, the source).
  static std::optional<std::map<std::string, std::string>> InjectedShape(std::map<std::string, std::string> shape,
                                                                         const std::map<std::string, std::string>& changed) {
    if (changed.empty()) return std::nullopt;
    for (const auto& [k, v] : changed) {
      if (k.empty() || k == "rule" || k == "source" || k.starts_with("profile.")) return std::nullopt;
      if (v.empty()) shape.erase(k);
      else shape[k] = v;
    }
    return shape;
  }

  // `answer` with a stored variant's body and type instead of the original's.
  static http::Response AsVariant(http::Response answer, const CachedResponse& v, std::string_view how) {
    answer.body() = v.body;
    for (const auto& f : v.headers) answer.set(f.name_string(), f.value());
    answer.erase(bhttp::field::etag);
    answer.erase(bhttp::field::content_encoding);
    answer.set("X-Tacc-Cache", how);
    return answer;
  }

  // The approximate answer (§3.1.8): the most recent other variant of the original in
  // the cache (under `cache_key`, if the original is cached), else the original.
  boost::asio::awaitable<http::Reply> Approximate(http::Response answer, std::string original, std::string reason, const std::string* cache_key) {
    answer.set("X-Tacc-Approximate-Reason", HeaderSafe(reason));
    if (cache_key) {
      if (auto other = co_await cache_->AnyVariant(*cache_key)) {
        http::Response v = AsVariant(std::move(answer), *other, "variant-hit");
        v.set("X-Tacc-Approximate", "variant");
        co_return v;
      }
    }
    answer.body() = std::move(original);
    answer.set("X-Tacc-Approximate", "original");
    co_return answer;
  }

  http::NetworkList clients_;
  http::DestinationPolicy destinations_;
  http::OriginClient forward_;         // client-chosen destinations: the SSRF policy applies
  http::OriginClient reverse_client_;  // operator-chosen origins: any address
  std::map<std::string, http::OriginEndpoint> reverse_;
  std::vector<std::pair<uint16_t, uint16_t>> connect_ports_;
  int connect_timeout_ms_;
  std::chrono::milliseconds tunnel_idle_;
  std::shared_ptr<const tacc_layer::DispatchRules> rules_;
  std::shared_ptr<const tacc_layer::ChainPlanner> planner_;
  bool url_api_enabled_;
  std::vector<tacc_layer::UrlSigningKey> url_keys_;
  bool allow_unsigned_;
  std::vector<std::string> sizes_;
  int max_redirects_;
  std::chrono::milliseconds chain_deadline_;
  double overload_queue_;
  std::string cookie_;
  bool cache_enabled_;
  ResponseCacheOptions cache_options_;
  int64_t cache_max_object_;
  std::unique_ptr<ResponseCache> cache_;  // made on the first request (it needs the thread's dispatcher)
  std::unique_ptr<tacc_layer::SqliteProfileStore> profile_db_;      // the customization database
  std::unique_ptr<tacc_layer::CachedProfileStore> profiles_;         // its write-through cache in this thread
  std::string via_name_;
};

Result<std::unique_ptr<sns::Service>> MakeTransendService(const Config& c) {
  auto clients = http::NetworkList::Make(c.proxy.client_networks);
  if (!clients.ok()) return Status::InvalidArgument("setting 'proxy.client_networks': " + clients.status().message());
  auto dest = http::DestinationPolicy::Make(c.proxy.allowed_destinations);
  if (!dest.ok()) return Status::InvalidArgument("setting 'proxy.allowed_destinations': " + dest.status().message());
  auto reverse = ParseReverseOrigins(c.proxy.reverse_origins);
  if (!reverse.ok()) return Status::InvalidArgument("setting 'proxy.reverse_origins': " + reverse.status().message());
  auto ports = ParsePortRanges(c.proxy.connect_ports);
  if (!ports.ok()) return Status::InvalidArgument("setting 'proxy.connect_ports': " + ports.status().message());
  auto tls = http::MakeOriginTlsContext(c.proxy.origin_ca_file);
  if (!tls.ok()) return Status::InvalidArgument("setting 'proxy.origin_ca_file': " + tls.status().message());
  auto anywhere = http::DestinationPolicy::Make({"0.0.0.0/0", "::/0"});
  if (!anywhere.ok()) return anywhere.status();
  auto rules = MakeRules(c);
  if (!rules.ok()) return rules.status();
  auto keys = tacc_layer::ParseSigningKeys(c.url_api.keys);
  if (!keys.ok()) return Status::InvalidArgument("setting 'url_api.keys': " + keys.status().message());
  for (const auto& s : c.url_api.sizes) {
    auto x = s.find('x');
    if (x == std::string::npos || s.size() == 1 || s.find_first_not_of("0123456789x") != std::string::npos || s.find('x', x + 1) != std::string::npos)
      return Status::InvalidArgument("setting 'url_api.sizes': '" + s + "' is not WxH, Wx or xH");
  }
  std::string db_path = c.profiles.path.empty() ? c.RunDir() + "/profiles.db" : c.profiles.path;
  auto db = tacc_layer::SqliteProfileStore::Open(db_path);
  if (!db.ok()) return Status::Unavailable("the customization database (profiles.path): " + db.status().message());
  ProxySetup setup{std::move(*clients), std::move(*dest),  std::move(*anywhere), std::move(*reverse), std::move(*ports),
                   std::move(*tls),     std::move(*rules), std::move(*keys),     std::move(*db)};
  return std::unique_ptr<sns::Service>(std::make_unique<TransendService>(c, std::move(setup)));
}

}  // namespace
}  // namespace tacc::services

TACC_REGISTER_SERVICE(transend, "transend", "TranSend: forward, reverse and CONNECT proxy with distillers, virtual cache and profiles", tacc::services::MakeTransendService);
