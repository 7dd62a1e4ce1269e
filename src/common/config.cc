#include "common/config.h"

#include <fmt/format.h>

#include <cctype>
#include <cmath>
#include <functional>
#include <optional>
#include <set>
#include <sstream>
#include <toml++/toml.h>

namespace tacc {
namespace {

// One declared setting. `set` validates and stores a TOML value; `show` renders the
// current value as a TOML literal.
struct SettingDef {
  std::string key;
  std::string doc;
  std::function<Status(Config&, const toml::node&)> set;
  std::function<std::string(const Config&)> show;
};

std::string Quote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) {
      out += fmt::format("\\u{:04X}", u);
      continue;
    }
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

// Class names and argument names are plain identifiers: they appear as TOML bare keys,
// in command lines and in URLs.
bool PlainName(std::string_view s) {
  if (s.empty() || s.size() > 64) return false;
  for (char c : s)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-') return false;
  return true;
}

Status Bad(const std::string& key, const std::string& why) {
  return Status::InvalidArgument(fmt::format("setting '{}': {}", key, why));
}

// Binds a numeric member reached through an accessor, with an inclusive range.
template <typename Num, typename Get>
SettingDef NumberAt(std::string key, std::string doc, Get get, Num lo, Num hi) {
  SettingDef d;
  d.key = key;
  d.doc = fmt::format("{} Range {}..{}.", doc, lo, hi);
  d.set = [key, get, lo, hi](Config& c, const toml::node& n) -> Status {
    // Range-check in the widest type before narrowing, so 2^32+1 is not taken for 1.
    if constexpr (std::is_floating_point_v<Num>) {
      auto f = n.value<double>();
      if (!f) return Bad(key, "expected a number");
      if (!std::isfinite(*f)) return Bad(key, "expected a finite number");
      if (*f < static_cast<double>(lo) || *f > static_cast<double>(hi)) return Bad(key, fmt::format("{} is outside {}..{}", *f, lo, hi));
      get(c) = static_cast<Num>(*f);
    } else {
      if (!n.is_integer()) return Bad(key, "expected a whole number");
      int64_t v = *n.value<int64_t>();
      if (v < static_cast<int64_t>(lo) || v > static_cast<int64_t>(hi)) return Bad(key, fmt::format("{} is outside {}..{}", v, lo, hi));
      get(c) = static_cast<Num>(v);
    }
    return Status::Ok();
  };
  d.show = [get](const Config& c) { return fmt::format("{}", get(const_cast<Config&>(c))); };
  return d;
}

template <typename Get>
SettingDef StringAt(std::string key, std::string doc, Get get, std::vector<std::string> allowed = {}) {
  SettingDef d;
  d.key = key;
  d.doc = doc;
  if (!allowed.empty()) {
    std::string list;
    for (auto& a : allowed) list += (list.empty() ? "" : ", ") + Quote(a);
    d.doc += " One of " + list + ".";
  }
  d.set = [key, get, allowed](Config& c, const toml::node& n) -> Status {
    auto v = n.value<std::string>();
    if (!n.is_string() || !v) return Bad(key, "expected a string");
    if (!allowed.empty() && std::find(allowed.begin(), allowed.end(), *v) == allowed.end())
      return Bad(key, fmt::format("'{}' is not one of the allowed values", *v));
    get(c) = *v;
    return Status::Ok();
  };
  d.show = [get](const Config& c) { return Quote(get(const_cast<Config&>(c))); };
  return d;
}

template <typename Get>
SettingDef BoolAt(std::string key, std::string doc, Get get) {
  SettingDef d;
  d.key = key;
  d.doc = doc;
  d.set = [key, get](Config& c, const toml::node& n) -> Status {
    if (!n.is_boolean()) return Bad(key, "expected true or false");
    get(c) = *n.value<bool>();
    return Status::Ok();
  };
  d.show = [get](const Config& c) { return get(const_cast<Config&>(c)) ? "true" : "false"; };
  return d;
}

template <typename Get>
SettingDef StringListAt(std::string key, std::string doc, Get get) {
  SettingDef d;
  d.key = key;
  d.doc = doc;
  d.set = [key, get](Config& c, const toml::node& n) -> Status {
    auto* arr = n.as_array();
    if (!arr) return Bad(key, "expected an array of strings");
    std::vector<std::string> out;
    for (auto& e : *arr) {
      auto v = e.value<std::string>();
      if (!e.is_string() || !v) return Bad(key, "expected an array of strings");
      out.push_back(*v);
    }
    get(c) = std::move(out);
    return Status::Ok();
  };
  d.show = [get](const Config& c) {
    std::string s = "[";
    for (auto& v : get(const_cast<Config&>(c))) s += (s.size() > 1 ? ", " : "") + Quote(v);
    return s + "]";
  };
  return d;
}

#define AT(field) [](Config& c) -> auto& { return c.field; }

const std::vector<SettingDef>& Settings() {
  static const std::vector<SettingDef> defs = {
      StringAt("cluster.name", "Name of this cluster. Beacons of other clusters on the same group are ignored; also names the run directory.", AT(cluster.name)),
      StringAt("cluster.host", "Address this host's components bind to and advertise to their peers.", AT(cluster.host)),
      StringAt("cluster.run_dir", "Directory for lock files that keep one manager and one front end per index on this host. Empty: /tmp/tacc-<cluster.name>.", AT(cluster.run_dir)),
      StringAt("cluster.key_file", "File holding the cluster key (64 hex digits, mode 0600, owned by this user) that every cluster connection and beacon is proven with. Empty: <run_dir>/cluster.key, which `tacc up` creates; on several hosts create one with `tacc key generate` and copy it to each.", AT(cluster.key_file)),

      StringAt("beacon.mode", "How the manager's beacons reach the other components: IP multicast, or unicast to every component that subscribed at a seed address (where multicast is not available).", AT(beacon.mode), {"multicast", "unicast"}),
      StringAt("beacon.group", "IPv4 multicast group of the beacons.", AT(beacon.group)),
      NumberAt<int>("beacon.port", "UDP port of the beacons (multicast), or the manager's subscription port (unicast).", AT(beacon.port), 1, 65535),
      NumberAt<int>("beacon.ttl", "Multicast TTL: 0 keeps beacons on this host, 1 on the local network.", AT(beacon.ttl), 0, 255),
      StringAt("beacon.interface", "Address of the interface that sends and joins the multicast group.", AT(beacon.interface)),
      NumberAt<int>("beacon.interval_ms", "Period of the manager's beacons, in milliseconds.", AT(beacon.interval_ms), 10, 60000),
      StringListAt("beacon.unicast_seeds", "Unicast mode: host:port addresses where a manager may listen for subscriptions. Empty: cluster.host:beacon.port.", AT(beacon.unicast_seeds)),
      NumberAt<int>("beacon.subscription_ttl_ms", "Unicast mode: how long a subscription lasts unless renewed.", AT(beacon.subscription_ttl_ms), 100, 600000),
      NumberAt<int>("beacon.max_subscribers", "Unicast mode: most subscribers the manager sends beacons to (every worker and front end is one); further subscriptions are refused until one expires.", AT(beacon.max_subscribers), 1, 1000000),
      NumberAt<int>("beacon.max_datagram_bytes", "Largest beacon datagram (UDP payload). Keep it under the path MTU (1,500-byte Ethernet: 1,472 less any tunnel headers) so no beacon is fragmented; a big directory goes out as several datagrams.", AT(beacon.max_datagram_bytes), 576, 65000),
      NumberAt<int>("beacon.freshness_ms", "A beacon or subscription sent further than this from the receiver's clock is refused as a replay. Hosts need their clocks in step to well within this (NTP).", AT(beacon.freshness_ms), 100, 3600000),

      NumberAt<int>("manager.port", "Port the manager listens on for workers and front ends: TCP, and UDP for workers' load reports (0: any free port; peers learn it from beacons).", AT(manager.port), 0, 65535),
      NumberAt<int>("manager.peer_timeout_ms", "A worker or front end silent this long is presumed dead (backs up broken-connection detection).", AT(manager.peer_timeout_ms), 100, 600000),
      NumberAt<double>("manager.load_smoothing", "Weight of the newest load report in each worker's moving average (1: no smoothing).", AT(manager.load_smoothing), 0.01, 1.0),
      NumberAt<int>("manager.policy_interval_ms", "How often the spawn/reap policy runs.", AT(manager.policy_interval_ms), 10, 60000),
      StringAt("manager.spawn_policy", "Spawn/reap policy: 'threshold' (paper §4.5: spawn above H, hold D, reap after R idle) or 'fixed' (only min_workers, restarts).", AT(manager.spawn_policy), {"threshold", "fixed"}),
      NumberAt<double>("manager.spawn_threshold", "H: when a class's mean smoothed queue length exceeds this, spawn another worker. Pick it as the longest queueing delay users should see divided by the mean task time.", AT(manager.spawn_threshold), 0.1, 1e6),
      NumberAt<double>("manager.spawn_hold_s", "D: after a spawn, hold further spawns of that class this many seconds so the new worker can take load. Larger: steadier worker counts; smaller: faster reaction to bursts.", AT(manager.spawn_hold_s), 0.0, 3600.0),
      NumberAt<double>("manager.reap_idle_s", "R: a worker idle this many seconds is reaped (down to the class's min_workers).", AT(manager.reap_idle_s), 0.1, 86400.0),
      NumberAt<double>("manager.reap_threshold", "L: when a class's mean smoothed queue, spread over one worker fewer (mean x n / (n - 1)), has stayed under this for R seconds, its least-loaded worker is reaped although none is idle (under steady load lottery scheduling gives every worker some tasks, so idleness alone never shrinks a class after a burst). One per R; never within D of a spawn; keep L well under H. 0: reap idle workers only.", AT(manager.reap_threshold), 0.0, 1e6),
      NumberAt<int>("manager.spawn_timeout_ms", "A launched worker that has not registered within this time counts as a failed start.", AT(manager.spawn_timeout_ms), 100, 600000),
      NumberAt<int>("manager.restart_backoff_min_ms", "Delay before restarting a crashed worker after its class's first recent crash; doubles with each further crash.", AT(manager.restart_backoff_min_ms), 0, 600000),
      NumberAt<int>("manager.restart_backoff_max_ms", "Upper bound of the restart delay.", AT(manager.restart_backoff_max_ms), 0, 3600000),
      NumberAt<int>("manager.restart_window_s", "Window over which crashes of a class are counted.", AT(manager.restart_window_s), 1, 86400),
      NumberAt<int>("manager.restart_max", "More crashes than this of one class within the window suspend its restarts and spawns (reported as an error and in beacons) until old crashes age out.", AT(manager.restart_max), 1, 100000),
      BoolAt("manager.manage_frontends", "Launch frontend.count front ends on this host and restart any that dies (set by `tacc up`).", AT(manager.manage_frontends)),
      NumberAt<int>("manager.adopt_grace_ms", "A restarted manager waits this long for running workers and front ends to re-register before it spawns or launches replacements; meanwhile its beacons say so and front ends keep the workers they knew.", AT(manager.adopt_grace_ms), 0, 600000),
      StringAt("manager.launcher", "How the manager starts processes: 'local' re-executes tacc on this host.", AT(manager.launcher), {"local"}),
      NumberAt<int>("manager.max_connections", "Cluster connections (workers, front ends) the manager holds at once; more are closed at once.", AT(manager.max_connections), 1, 1000000),

      NumberAt<int>("frontend.count", "Number of front ends `tacc up` runs on this host.", AT(frontend.count), 1, 256),
      StringAt("frontend.host", "Address the front ends' HTTP servers bind to.", AT(frontend.host)),
      NumberAt<int>("frontend.port", "HTTP port of front end 0; front end i listens on port+i (0: any free port, kept across restarts).", AT(frontend.port), 0, 65535),
      NumberAt<int>("frontend.threads", "Event-loop threads per front end (0: one per core).", AT(frontend.threads), 0, 1024),
      StringAt("frontend.service", "Service the front ends run (registered by name).", AT(frontend.service)),
      NumberAt<int>("frontend.manager_timeout_ms", "No beacon for this long: the manager is presumed dead and one front end restarts it.", AT(frontend.manager_timeout_ms), 50, 600000),
      BoolAt("frontend.restart_manager", "Whether front ends restart a dead manager (process peers).", AT(frontend.restart_manager)),
      StringAt("frontend.admin_host", "Address of the front ends' admin listener (/_tacc/status, /_tacc/metrics, /_tacc/health; not served on the public port). Loopback by default: anyone who reaches it sees the cluster's layout and counters. Dispatchers with frontdoor.failover_state 'rebuild' ask it for the front end's connections (POST /_tacc/connections, sealed with the cluster key): then it must be an address they reach.", AT(frontend.admin_host)),
      NumberAt<int>("frontend.admin_port", "Admin port of front end 0; front end i listens on admin_port+i (0: any free port). Beacons and `tacc status` show where each one is.", AT(frontend.admin_port), 0, 65535),
      NumberAt<int>("frontend.stop_grace_ms", "On SIGTERM a front end hands its listening sockets to the successor the manager starts, stops accepting, and gives requests in flight up to this long (from the signal) before it closes what is left and exits. A second SIGTERM, or SIGINT, stops it at once.", AT(frontend.stop_grace_ms), 0, 600000),

      NumberAt<int>("http.max_header_bytes", "Largest request head accepted; larger: 431.", AT(http.max_header_bytes), 512, 1 << 24),
      NumberAt<int64_t>("http.max_body_bytes", "Largest request body accepted; larger: 413.", AT(http.max_body_bytes), int64_t{0}, int64_t{1} << 40),
      NumberAt<int>("http.idle_timeout_ms", "A connection with no request under way is closed when the first byte of the next request has not come within this time.", AT(http.idle_timeout_ms), 10, 3600000),
      NumberAt<int>("http.read_timeout_ms", "A request must arrive whole, head and body, within this time from its first byte: one deadline, not renewed by each read, so a client that trickles bytes is cut off.", AT(http.read_timeout_ms), 10, 3600000),
      NumberAt<int>("http.request_timeout_ms", "Deadline for the service to answer one request.", AT(http.request_timeout_ms), 10, 3600000),
      NumberAt<int>("http.max_connections", "Open client connections per front end, across all its threads; a connection above it gets a 503 and is closed at once (counted in tacc_http_refused_connections_total).", AT(http.max_connections), 1, 1000000),
      NumberAt<int64_t>("http.max_buffered_bytes", "Request bytes (read buffers and bodies) one front end holds in memory across all its connections; a request that would go above it gets a 503 and its connection is closed (counted in tacc_http_over_memory_budget_total).", AT(http.max_buffered_bytes), int64_t{64} << 10, int64_t{1} << 40),
      StringListAt("http.trusted_proxies", "CIDR networks of proxies in front of the front ends (the front door's l7 dispatcher, a load balancer) whose X-Forwarded-For names the client: requests from them are taken to come from that client (user without a cookie, proxy.client_networks). Empty: the header is ignored and the connection's address is the client. `tacc up --dispatch l7` adds its dispatcher.", AT(http.trusted_proxies)),
      StringListAt("proxy.client_networks", "CIDR networks whose clients may use the front end as a forward proxy (absolute-form requests); others get 403.", AT(proxy.client_networks)),
      StringListAt("proxy.allowed_destinations", "CIDR networks of non-public addresses (private, loopback, link-local, ...) the proxy may still connect to. Empty: public addresses only (SSRF defence; checked on the resolved address).", AT(proxy.allowed_destinations)),
      StringListAt("proxy.reverse_origins", "Reverse proxy: entries \"host=http://origin[:port]\" or \"host=https://origin[:port]\"; a request whose Host is `host` (with or without port) is fetched from that origin, whatever its address (the operator chose it). Empty: no reverse proxying.", AT(proxy.reverse_origins)),
      NumberAt<int>("proxy.connect_timeout_ms", "Connecting to an origin (all its allowed addresses) must finish within this; else 504.", AT(proxy.connect_timeout_ms), 10, 600000),
      NumberAt<int>("proxy.read_timeout_ms", "An origin must take the request and send its whole answer within this; else 504.", AT(proxy.read_timeout_ms), 10, 3600000),
      NumberAt<int64_t>("proxy.max_body_bytes", "Largest origin body the proxy reads whole (to transform or cache it); larger: 502. Bodies that only pass through stream with no size limit.", AT(proxy.max_body_bytes), int64_t{0}, int64_t{1} << 40),
      StringListAt("proxy.connect_ports", "Ports a CONNECT tunnel may reach (\"443\", or ranges \"8000-8100\"); other ports get 403. The destination address is checked like any other (proxy.allowed_destinations).", AT(proxy.connect_ports)),
      NumberAt<int>("proxy.tunnel_idle_timeout_ms", "A CONNECT tunnel with no byte either way for this long is closed.", AT(proxy.tunnel_idle_timeout_ms), 100, 86400000),
      StringAt("proxy.origin_ca_file", "PEM file of CA certificates trusted for HTTPS origins in addition to the system's (e.g. an operator's private CA). Certificates are always verified.", AT(proxy.origin_ca_file)),
      NumberAt<int>("proxy.max_connections_per_origin", "Connections one front-end thread keeps open (busy or idle) to one origin; a request over it waits up to proxy.connect_timeout_ms for one, then 504.", AT(proxy.max_connections_per_origin), 1, 1000000),
      NumberAt<int>("proxy.max_idle_per_origin", "Idle keep-alive connections kept per origin and front-end thread for reuse (0: none).", AT(proxy.max_idle_per_origin), 0, 100000),
      NumberAt<int>("proxy.max_idle_connections", "Idle origin connections kept per front-end thread over all origins; the oldest are closed first.", AT(proxy.max_idle_connections), 0, 1000000),
      NumberAt<int>("proxy.idle_origin_timeout_ms", "An idle origin connection older than this is closed instead of reused (keep it under the origins' own keep-alive timeout).", AT(proxy.idle_origin_timeout_ms), 10, 3600000),
      BoolAt("url_api.enabled", "Serve the URL API at /_tacc/t/<signature>/<options>/<base64url source URL> on the public port.", AT(url_api.enabled)),
      StringListAt("url_api.keys", "Signing keys of the URL API, \"<hex key>:<hex salt>\" (make one with `tacc url key`); a path signed with any of them is accepted (rotation).", AT(url_api.keys)),
      BoolAt("url_api.allow_unsigned", "Accept \"unsafe\" in place of a signature. Anyone may then make the proxy fetch and transform any public URL.", AT(url_api.allow_unsigned)),
      StringListAt("url_api.sizes", "If not empty, the only output sizes the URL API makes: \"WxH\", \"Wx\" (any height) or \"xH\"; others get 400.", AT(url_api.sizes)),
      NumberAt<int>("url_api.max_redirects", "Redirects the URL API follows for a source URL (each hop checked like the first: proxy.allowed_destinations).", AT(url_api.max_redirects), 0, 20),
      StringAt("profiles.path", "The customization database (SQLite, WAL): user preferences, the one ACID part of the system. Empty: <run_dir>/profiles.db, which lives only as long as the run directory; set a path on persistent storage to keep preferences.", AT(profiles.path)),
      StringAt("profiles.cookie", "Cookie that carries a user's token (set when a user asks the preferences page to remember the browser); without it the user is the client's address.", AT(profiles.cookie)),
      NumberAt<int>("profiles.cache_entries", "Profiles each front-end thread keeps in its write-through cache (0: none).", AT(profiles.cache_entries), 0, 10000000),
      NumberAt<int>("profiles.cache_ttl_ms", "A cached profile is re-read after this long (another front end may have changed it).", AT(profiles.cache_ttl_ms), 0, 86400000),
      BoolAt("cache.enabled", "Keep originals (RFC 9111, as a shared cache) and distilled variants in the virtual cache.", AT(cache.enabled)),
      StringAt("cache.worker_class", "Worker class whose workers are the cache partitions (built-in worker `cache`; its args budget_mb and max_entry_mb size each partition).", AT(cache.worker_class)),
      NumberAt<int>("cache.timeout_ms", "A cache partition that does not answer within this is a miss (the cache only saves time).", AT(cache.timeout_ms), 1, 60000),
      NumberAt<int64_t>("cache.max_object_bytes", "Largest object the proxy reads whole to keep in the cache; larger ones stream past it.", AT(cache.max_object_bytes), int64_t{0}, int64_t{1} << 40),
      NumberAt<double>("cache.local_budget_mb", "Memory of each front end (shared by its threads) for the cached objects it used last, so that a hot object is answered without asking its partition; 0 turns it off.", AT(cache.local_budget_mb), 0.0, 1024.0 * 1024),
      NumberAt<int64_t>("cache.local_max_object_bytes", "Largest object a front end keeps in its own memory (cache.local_budget_mb); larger ones are fetched from their partition on every hit.", AT(cache.local_max_object_bytes), int64_t{0}, int64_t{1} << 40),
      NumberAt<int>("cache.local_ttl_ms", "How long a front end answers from its own copy before asking the partition again (bounds how long it may miss another front end's revalidation or invalidation; RFC 9111 freshness is checked on every answer regardless).", AT(cache.local_ttl_ms), 0, 3600000),
      NumberAt<int>("cache.variants_per_object", "Distilled variants of one original remembered (most recent first) so that an overloaded or failed chain can answer with one of them (paper §3.1.8).", AT(cache.variants_per_object), 1, 64),
      StringListAt("dispatch.rules", "Dispatch rules, first match wins: \"<mime pattern> [size>=N] [size<=N] [profile.<key>=<value>] -> <class> | <class>{arg=value,...}\". A response that matches goes through that chain of worker classes; none: it passes through untouched. Reloaded on SIGHUP.", AT(dispatch.rules)),
      NumberAt<int64_t>("dispatch.min_transform_bytes", "Objects smaller than this pass through whatever the rules say (paper 4.1: under 1 KB distillation is not worth it). Reloaded on SIGHUP.", AT(dispatch.min_transform_bytes), int64_t{0}, int64_t{1} << 40),
      NumberAt<int>("dispatch.chain_deadline_ms", "A whole chain must finish within this; else the original is answered (marked approximate).", AT(dispatch.chain_deadline_ms), 10, 600000),
      NumberAt<double>("dispatch.overload_queue", "When the first class of a chain has a mean queue above this many tasks per worker, the original is answered at once (marked approximate) unless the client asked for no-cache; 0: never.", AT(dispatch.overload_queue), 0.0, 1e9),

      StringAt("frontdoor.mode", "How `tacc dispatch` spreads connections: 'relay' (user-space splice relay; works anywhere, the slow baseline), 'l7' (parses each HTTP request and routes it by content), 'nat' (L4/3: the dispatcher is the front ends' gateway and rewrites addresses in the kernel with nftables), 'dsr' (L4/2: the cluster address is a loopback alias on every front-end host; a tc-BPF program rewrites only the destination MAC and replies go straight to the client). README 'Front door' says when to pick which.", AT(frontdoor.mode), {"relay", "l7", "nat", "dsr"}),
      StringAt("frontdoor.address", "The cluster address: the one address clients connect to. relay/l7 listen on it; nat/dsr take packets to it.", AT(frontdoor.address)),
      NumberAt<int>("frontdoor.port", "The cluster port.", AT(frontdoor.port), 1, 65535),
      StringAt("frontdoor.interface", "nat/dsr: the network device the cluster address is reached through. Empty: the device of the route to frontdoor.address.", AT(frontdoor.interface)),
      StringListAt("frontdoor.backends", "Static back ends, \"host:port\" or \"host:port*weight\" (servers that are not tacc front ends). Used with, or instead of, the front ends the beacons list.", AT(frontdoor.backends)),
      BoolAt("frontdoor.from_beacons", "Join the cluster as a peer: take the front ends, and their loads, from the manager's authenticated beacons, so a front end that is added, restarted or reaped enters or leaves rotation by itself.", AT(frontdoor.from_beacons)),
      StringAt("frontdoor.policy", "How a back end is chosen for a new connection (L4) or request (l7).", AT(frontdoor.policy), {"round_robin", "random", "least_connections", "weighted", "fastest_response", "source_hash", "load_weighted", "lard", "bounded_hash"}),
      BoolAt("frontdoor.affinity", "Client affinity: a client address keeps going to the back end it was sent to, until it has been silent for frontdoor.affinity_timeout_s or that back end fails.", AT(frontdoor.affinity)),
      NumberAt<int>("frontdoor.affinity_timeout_s", "Silence after which a client's affinity ends (Cisco LocalDirector's 5 minutes by default).", AT(frontdoor.affinity_timeout_s), 1, 86400),
      NumberAt<int>("frontdoor.lard_idle", "LARD L_idle (T_low): a back end with fewer open connections than this counts as idle.", AT(frontdoor.lard_idle), 1, 1000000),
      NumberAt<int>("frontdoor.lard_overload", "LARD L_overload (T_high): a target moves off the back end that served it before when that one has more open connections than this while another is under frontdoor.lard_idle (or at any time past twice this).", AT(frontdoor.lard_overload), 1, 1000000),
      NumberAt<double>("frontdoor.chash_epsilon", "Bounded-load consistent hashing: no back end takes more than (1 + epsilon) x the average of open requests; a target whose back end is full goes on round the ring.", AT(frontdoor.chash_epsilon), 0.01, 100.0),
      NumberAt<int>("frontdoor.health_interval_ms", "Period of the active health check of each back end.", AT(frontdoor.health_interval_ms), 10, 600000),
      NumberAt<int>("frontdoor.health_timeout_ms", "A health check (or a forwarded connect) that takes longer than this fails.", AT(frontdoor.health_timeout_ms), 1, 600000),
      NumberAt<int>("frontdoor.health_rise", "Checks in a row that must pass before a back end in 'testing' is readmitted.", AT(frontdoor.health_rise), 1, 100),
      NumberAt<int>("frontdoor.health_fall", "Failures in a row (active checks, or passive: refused, reset or timed-out connections) that take a back end out of rotation into 'testing'.", AT(frontdoor.health_fall), 1, 100),
      StringAt("frontdoor.health_path", "Empty: a TCP connect to the back end is the health check. Else an HTTP GET of this path, which passes on 2xx or 3xx.", AT(frontdoor.health_path)),
      NumberAt<int>("frontdoor.connect_timeout_ms", "relay/l7: connecting to a back end must finish within this, else the next back end is tried (and the failure counts against the first).", AT(frontdoor.connect_timeout_ms), 1, 600000),
      NumberAt<int>("frontdoor.idle_timeout_ms", "relay/l7: a relayed connection with no byte either way for this long is closed.", AT(frontdoor.idle_timeout_ms), 100, 86400000),
      NumberAt<int>("frontdoor.max_connections", "relay/l7: client connections open at once; more are closed at once.", AT(frontdoor.max_connections), 1, 10000000),
      NumberAt<int>("frontdoor.max_pending", "relay/l7: connections accepted and not yet connected to a back end (or, l7, not yet sent a whole request head); more are closed at once. Also the listen backlog.", AT(frontdoor.max_pending), 1, 1000000),
      NumberAt<int>("frontdoor.syn_rate", "nat/dsr: new connections per second the kernel lets through to the cluster address; SYNs over it are dropped (a SYN flood is bounded). 0: no limit.", AT(frontdoor.syn_rate), 0, 100000000),
      StringAt("frontdoor.standby_peer", "host:port of the other dispatcher of a hot-standby pair (its heartbeat port). Empty: no standby.", AT(frontdoor.standby_peer)),
      NumberAt<int>("frontdoor.priority", "Of two live dispatchers the one with the higher priority holds the cluster address.", AT(frontdoor.priority), 0, 255),
      NumberAt<int>("frontdoor.heartbeat_ms", "Period of the heartbeats between the two dispatchers of a pair (authenticated with the cluster key).", AT(frontdoor.heartbeat_ms), 10, 60000),
      NumberAt<int>("frontdoor.takeover_misses", "Heartbeats the standby misses before it takes over the cluster address (Magicrouter: 3).", AT(frontdoor.takeover_misses), 1, 100),
      StringAt("frontdoor.failover_state", "How established connections survive a takeover: 'stateless' (the choice is a hash both dispatchers compute alike; nothing copied; ONE-IP), 'replicated' (the connection map is copied to the standby with each heartbeat; Magicrouter), 'rebuild' (the new active dispatcher asks every front end in rotation for its open connections on its admin listener, with a query sealed with the cluster key, and loads them into the kernel; LSNAT; the front ends' frontend.admin_host must be reachable from the dispatchers, and back ends that are not tacc front ends cannot be asked). Only the kernel modes (nat, dsr) keep connections across a takeover; relay and l7 connections end with the process that carried them.", AT(frontdoor.failover_state), {"stateless", "replicated", "rebuild"}),
      NumberAt<int>("frontdoor.rebuild_timeout_ms", "failover_state 'rebuild': how long a dispatcher that has just taken over waits for each front end's report of its connections (all are asked at once); one that does not answer in time loses its connections' takeover.", AT(frontdoor.rebuild_timeout_ms), 10, 60000),
      NumberAt<int>("frontdoor.rebuild_max_connections", "failover_state 'rebuild': connections asked of each front end (a front end reports at most 1,048,576).", AT(frontdoor.rebuild_max_connections), 1, 1048576),

      StringAt("stub.balance_policy", "How the manager stub picks a worker: 'lottery' (tickets inversely related to the estimated queue), 'random', 'least_loaded'.", AT(stub.balance_policy), {"lottery", "random", "least_loaded"}),
      BoolAt("stub.delta_estimator", "Keep a running estimate of each worker's queue change between beacons (paper §4.5).", AT(stub.delta_estimator)),
      NumberAt<int>("stub.task_timeout_ms", "A task not answered within this time is retried on another worker.", AT(stub.task_timeout_ms), 1, 3600000),
      NumberAt<int>("stub.max_retries", "Further workers tried after a timeout, overload or dead worker, before the service's fallback.", AT(stub.max_retries), 0, 16),
      NumberAt<int>("stub.spawn_wait_ms", "How long a task for a class with no worker waits for one to be spawned.", AT(stub.spawn_wait_ms), 0, 600000),
      NumberAt<int>("stub.connect_timeout_ms", "Timeout of a TCP connect to a worker or the manager.", AT(stub.connect_timeout_ms), 1, 600000),

      NumberAt<int>("worker.max_queue", "Tasks a worker holds (queued and running); more are refused as overloaded.", AT(worker.max_queue), 1, 1000000),
      NumberAt<int>("worker.report_ms", "Period of each worker's load report to the manager.", AT(worker.report_ms), 5, 60000),
      BoolAt("worker.weight_by_cost", "Report queue length weighted by each task's expected cost instead of a plain count.", AT(worker.weight_by_cost)),
      NumberAt<int>("worker.drain_grace_ms", "A reaped worker keeps answering this long after it stops taking new work from the directory.", AT(worker.drain_grace_ms), 0, 600000),
      NumberAt<int>("worker.max_connections", "Task connections (from front ends) a worker holds at once; more are closed at once.", AT(worker.max_connections), 1, 1000000),
      NumberAt<int>("worker.hang_timeout_ms", "A worker whose function makes no progress this long while a task runs is ended and replaced; the running task gets an error, the queued ones are retried elsewhere.", AT(worker.hang_timeout_ms), 100, 3600000),

      NumberAt<int64_t>("wire.max_frame_bytes", "Largest cluster message accepted; a larger frame closes the connection.", AT(wire.max_frame_bytes), int64_t{64}, int64_t{1} << 32),
      NumberAt<int64_t>("wire.max_unregistered_frame_bytes", "Largest message accepted from a peer that has not registered yet (a registration is small).", AT(wire.max_unregistered_frame_bytes), int64_t{64}, int64_t{1} << 32),
      NumberAt<int64_t>("wire.max_outbox_bytes", "Bytes queued for a peer that does not read; beyond this its connection is closed (its calls fail and are retried).", AT(wire.max_outbox_bytes), int64_t{1024}, int64_t{1} << 40),
      NumberAt<int>("wire.heartbeat_ms", "A cluster connection with nothing to send for this long sends a heartbeat; one whose peer is silent for three of these is closed (the manager judges its workers and front ends by manager.peer_timeout_ms instead).", AT(wire.heartbeat_ms), 100, 600000),
      NumberAt<int>("wire.handshake_timeout_ms", "A peer must prove the cluster key within this time after connecting, or it is refused.", AT(wire.handshake_timeout_ms), 10, 600000),
      NumberAt<int>("wire.max_pending_handshakes", "Connections a listener lets prove the key at once; more are closed at once (unauthenticated peers cost little).", AT(wire.max_pending_handshakes), 1, 100000),

      StringAt("log.level", "Log level.", AT(log.level), {"trace", "debug", "info", "warn", "error", "off"}),
  };
  return defs;
}
#undef AT

const SettingDef* FindSetting(std::string_view key) {
  for (auto& d : Settings())
    if (d.key == key) return &d;
  return nullptr;
}

const std::set<std::string> kClassFields = {"worker", "min_workers", "max_workers", "cost_hint", "takes", "produces", "handoff_to", "args"};

Status SetClassField(Config& c, const std::string& cls, const std::string& field, const toml::node& n) {
  std::string key = "classes." + cls + "." + field;
  if (!PlainName(cls)) return Bad(key, "a class name is 1-64 letters, digits, '_' or '-'");
  auto [it, fresh] = c.classes.try_emplace(cls);
  ClassConfig& cc = it->second;
  if (fresh) cc.name = cls;
  if (field == "worker") {
    auto v = n.value<std::string>();
    if (!n.is_string() || !v || v->empty()) return Bad(key, "expected a worker name");
    cc.worker = *v;
  } else if (field == "min_workers" || field == "max_workers") {
    if (!n.is_integer()) return Bad(key, "expected a whole number");
    int64_t v = *n.value<int64_t>();
    if (v < 0 || v > 10000) return Bad(key, fmt::format("{} is outside 0..10000", v));
    (field == "min_workers" ? cc.min_workers : cc.max_workers) = static_cast<int>(v);
  } else if (field == "cost_hint") {
    auto v = n.value<double>();
    if (!v || !std::isfinite(*v) || *v <= 0) return Bad(key, "expected a positive finite number");
    cc.cost_hint = *v;
  } else if (field == "takes" || field == "produces") {
    auto* a = n.as_array();
    if (!a) return Bad(key, "expected a list of MIME types (\"type/subtype\")");
    auto& list = field == "takes" ? cc.takes : cc.produces;
    list.clear();
    for (auto& e : *a) {
      auto v = e.value<std::string>();
      auto slash = v ? v->find('/') : std::string::npos;
      if (!e.is_string() || slash == std::string::npos || slash == 0 || slash + 1 == v->size() || v->find_first_of(" ,;*") != std::string::npos)
        return Bad(key, "expected a list of MIME types (\"type/subtype\", no wildcards)");
      list.push_back(*v);
    }
  } else if (field == "handoff_to") {
    auto* a = n.as_array();
    if (!a) return Bad(key, "expected a list of class names");
    cc.handoff_to.clear();
    for (auto& e : *a) {
      auto v = e.value<std::string>();
      if (!e.is_string() || !v || !PlainName(*v)) return Bad(key, "expected a list of class names");
      if (*v == cls) return Bad(key, "a class cannot hand tasks to itself");
      cc.handoff_to.push_back(*v);
    }
  } else if (field == "args") {
    auto* t = n.as_table();
    if (!t) return Bad(key, "expected a table of name = value");
    for (auto& [k, v] : *t) {
      if (!PlainName(k.str())) return Bad(key + "." + std::string(k.str()), "an argument name is 1-64 letters, digits, '_' or '-'");
      if (v.is_string()) cc.args[std::string(k.str())] = *v.value<std::string>();
      else if (v.is_integer()) cc.args[std::string(k.str())] = std::to_string(*v.value<int64_t>());
      else if (v.is_floating_point()) cc.args[std::string(k.str())] = fmt::format("{}", *v.value<double>());
      else if (v.is_boolean()) cc.args[std::string(k.str())] = *v.value<bool>() ? "true" : "false"; else return Bad(key + "." + std::string(k.str()), "expected a string, number or boolean");
    }
  } else {
    return Bad(key, "unknown class field (known: worker, min_workers, max_workers, cost_hint, takes, produces, handoff_to, args)");
  }
  return Status::Ok();
}

Status ApplyTable(Config& c, const toml::table& root) {
  for (auto& [section, node] : root) {
    std::string sec(section.str());
    auto* t = node.as_table();
    if (!t) return Bad(sec, "expected a [section]");
    if (sec == "classes") {
      for (auto& [cls, cnode] : *t) {
        auto* ct = cnode.as_table();
        if (!ct) return Bad("classes." + std::string(cls.str()), "expected a table");
        c.classes.try_emplace(std::string(cls.str())).first->second.name = std::string(cls.str());
        for (auto& [field, v] : *ct) {
          Status s = SetClassField(c, std::string(cls.str()), std::string(field.str()), v);
          if (!s.ok()) return s;
        }
      }
      continue;
    }
    for (auto& [k, v] : *t) {
      std::string key = sec + "." + std::string(k.str());
      const SettingDef* d = FindSetting(key);
      if (!d) return Bad(key, "unknown setting (see `tacc config --reference`)");
      Status s = d->set(c, v);
      if (!s.ok()) return s;
    }
  }
  return Status::Ok();
}

// "key=value": the value is read as a TOML value; if that fails it is taken as a string,
// so `--set log.level=debug` works without quotes.
Status ApplyOverride(Config& c, const std::string& kv) {
  auto eq = kv.find('=');
  if (eq == std::string::npos || eq == 0) return Status::InvalidArgument("override '" + kv + "': expected key=value");
  std::string key = kv.substr(0, eq), raw = kv.substr(eq + 1);
  toml::table parsed;
  try {
    parsed = toml::parse("v = " + raw);
  } catch (const toml::parse_error&) {
    parsed = toml::table{{"v", raw}};
  }
  const toml::node& value = *parsed.get("v");
  if (key.rfind("classes.", 0) == 0) {
    auto rest = key.substr(8);
    auto dot = rest.find('.');
    if (dot == std::string::npos) return Bad(key, "expected classes.<name>.<field>");
    std::string cls = rest.substr(0, dot), field = rest.substr(dot + 1);
    if (field.rfind("args.", 0) == 0) {
      toml::table args{{field.substr(5), value}};
      return SetClassField(c, cls, "args", args);
    }
    return SetClassField(c, cls, field, value);
  }
  const SettingDef* d = FindSetting(key);
  if (!d) return Bad(key, "unknown setting (see `tacc config --reference`)");
  return d->set(c, value);
}

// Settings that are each in range but contradict each other: the message names both.
Status CheckConsistency(const Config& c) {
  auto both = [](const std::string& a, int64_t av, const std::string& b, int64_t bv, const std::string& why) {
    return Status::InvalidArgument(fmt::format("settings '{}' ({}) and '{}' ({}) contradict each other: {}", a, av, b, bv, why));
  };
  if (2 * int64_t{c.worker.report_ms} > c.manager.peer_timeout_ms)
    return both("worker.report_ms", c.worker.report_ms, "manager.peer_timeout_ms", c.manager.peer_timeout_ms,
                "a healthy worker would look dead between two load reports (report_ms must be at most half the peer timeout)");
  if (2 * int64_t{c.beacon.interval_ms} > c.manager.peer_timeout_ms)
    return both("beacon.interval_ms", c.beacon.interval_ms, "manager.peer_timeout_ms", c.manager.peer_timeout_ms,
                "front ends report once a beacon period, so healthy front ends would look hung (the period must be at most half the peer timeout)");
  if (2 * int64_t{c.beacon.interval_ms} > c.frontend.manager_timeout_ms)
    return both("beacon.interval_ms", c.beacon.interval_ms, "frontend.manager_timeout_ms", c.frontend.manager_timeout_ms,
                "one late beacon would make the front ends restart a healthy manager (the period must be at most half the timeout)");
  if (c.beacon.mode == "unicast" && 2 * int64_t{c.beacon.interval_ms} > c.beacon.subscription_ttl_ms)
    return both("beacon.interval_ms", c.beacon.interval_ms, "beacon.subscription_ttl_ms", c.beacon.subscription_ttl_ms,
                "subscriptions would lapse between beacons (the period must be at most half the subscription lifetime)");
  return Status::Ok();
}

Status Validate(Config& c) {
  if (c.manager.restart_backoff_max_ms < c.manager.restart_backoff_min_ms)
    return Bad("manager.restart_backoff_max_ms", "must not be below manager.restart_backoff_min_ms");
  if (c.frontend.admin_port != 0 && c.frontend.port != 0 && c.frontend.admin_port < c.frontend.port + c.frontend.count &&
      c.frontend.port < c.frontend.admin_port + c.frontend.count)
    return Bad("frontend.admin_port", fmt::format("{}..{} overlaps the public ports {}..{} (frontend.port, frontend.count)", c.frontend.admin_port,
                                                  c.frontend.admin_port + c.frontend.count - 1, c.frontend.port, c.frontend.port + c.frontend.count - 1));
  if (c.frontend.admin_port != 0 && c.frontend.admin_port + c.frontend.count - 1 > 65535)
    return Bad("frontend.admin_port", fmt::format("with frontend.count = {} the last admin port would be above 65535", c.frontend.count));
  if (c.http.max_buffered_bytes < c.http.max_header_bytes)
    return Bad("http.max_buffered_bytes", "must not be below http.max_header_bytes (one request head must fit)");
  for (auto& [name, cc] : c.classes) {
    if (cc.worker.empty()) cc.worker = name;
    if (cc.max_workers < cc.min_workers)
      return Bad("classes." + name + ".max_workers", "must not be below min_workers");
    if (cc.max_workers == 0) return Bad("classes." + name + ".max_workers", "must be at least 1");
    for (const auto& to : cc.handoff_to)
      if (!c.classes.contains(to)) return Bad("classes." + name + ".handoff_to", "'" + to + "' is not a declared class");
  }
  return CheckConsistency(c);
}

}  // namespace

Config::Config() {
  ClassConfig test;
  test.name = "test";
  test.worker = "test";
  test.min_workers = 0;
  test.max_workers = 8;
  test.args = {{"mode", "sleep"}, {"cost_ms", "10"}};
  classes.emplace("test", std::move(test));
  // One partition of the virtual cache, always there (paper §3.1.5); more by raising
  // min_workers (the cache is spread over all of them).
  ClassConfig cache;
  cache.name = "cache";
  cache.worker = "cache";
  cache.min_workers = 1;
  cache.max_workers = 1;
  cache.args = {{"budget_mb", "64"}};
  classes.emplace("cache", std::move(cache));
  // TranSend's JPEG distiller (issue 8): one kept warm, more spawned with the load.
  ClassConfig jpeg;
  jpeg.name = "jpeg";
  jpeg.worker = "jpeg";
  jpeg.min_workers = 1;
  jpeg.max_workers = 4;
  classes.emplace("jpeg", std::move(jpeg));
  // Its PNG and GIF distillers, the same way.
  for (const char* name : {"png", "gif"}) {
    ClassConfig c;
    c.name = name;
    c.worker = name;
    c.min_workers = 1;
    c.max_workers = 4;
    classes.emplace(name, std::move(c));
  }
  // TranSend's HTML munger and keyword filter (issue 8), chained: the filter passes a
  // page at once for users who set no keyword.
  ClassConfig munger;
  munger.name = "html_munger";
  munger.worker = "html_munger";
  munger.min_workers = 1;
  munger.max_workers = 4;
  classes.emplace("html_munger", std::move(munger));
  ClassConfig keyword;
  keyword.name = "keyword_filter";
  keyword.worker = "keyword_filter";
  keyword.min_workers = 1;
  keyword.max_workers = 4;
  classes.emplace("keyword_filter", std::move(keyword));
  dispatch.rules = {"image/jpeg -> jpeg", "image/pjpeg -> jpeg", "image/png -> png", "image/gif -> gif",
                    "text/html -> html_munger | keyword_filter"};
}

Result<Config> Config::Load(const std::string& path, const std::vector<std::string>& overrides) {
  Config c;
  if (!path.empty()) {
    toml::table root;
    try {
      root = toml::parse_file(path);
    } catch (const toml::parse_error& e) {
      std::ostringstream os;
      os << "config file '" << path << "': " << e.description() << " at " << e.source().begin;
      return Status::InvalidArgument(os.str());
    }
    Status s = ApplyTable(c, root);
    if (!s.ok()) return Status::InvalidArgument("config file '" + path + "': " + s.message());
  }
  for (auto& o : overrides) {
    Status s = ApplyOverride(c, o);
    if (!s.ok()) return s;
  }
  Status s = Validate(c);
  if (!s.ok()) return s;
  return c;
}

std::string Config::ToToml() const {
  std::string out = "# tacc effective configuration\n";
  std::string section;
  for (auto& d : Settings()) {
    std::string sec = d.key.substr(0, d.key.find('.'));
    if (sec != section) {
      out += "\n[" + sec + "]\n";
      section = sec;
    }
    out += "# " + d.doc + "\n" + d.key.substr(sec.size() + 1) + " = " + d.show(*this) + "\n";
  }
  for (auto& [name, cc] : classes) {
    out += fmt::format("\n[classes.{}]\nworker = {}\nmin_workers = {}\nmax_workers = {}\ncost_hint = {}\n", name, Quote(cc.worker), cc.min_workers,
                       cc.max_workers, cc.cost_hint);
    for (const auto* list : {&cc.takes, &cc.produces, &cc.handoff_to}) {
      if (list->empty()) continue;
      std::string items;
      for (const auto& t : *list) items += (items.empty() ? "" : ", ") + Quote(t);
      out += fmt::format("{} = [{}]\n", list == &cc.takes ? "takes" : list == &cc.produces ? "produces" : "handoff_to", items);
    }
    out += "args = { ";
    bool first = true;
    for (auto& [k, v] : cc.args) {
      out += (first ? "" : ", ") + k + " = " + Quote(v);
      first = false;
    }
    out += " }\n";
  }
  return out;
}

std::string Config::Reference() {
  Config defaults;
  std::string out =
      "# tacc configuration reference\n\n"
      "Generated by `tacc config --reference`. Every setting can be given in the TOML file "
      "(`--config FILE`) under its section, or on the command line as `--set section.key=value` "
      "(later wins). `tacc up --print-config` shows what is in force.\n\n"
      "| setting | default | meaning |\n|---|---|---|\n";
  for (auto& d : Settings()) out += fmt::format("| `{}` | `{}` | {} |\n", d.key, d.show(defaults), d.doc);
  out +=
      "\n## Worker classes\n\nEach `[classes.NAME]` table declares a worker class the cluster may run:\n\n"
      "| field | default | meaning |\n|---|---|---|\n"
      "| `worker` | NAME | built-in worker implementation (see `tacc worker --list`) |\n"
      "| `min_workers` | 0 | kept running at all times (spawned at start-up, never reaped below) |\n"
      "| `max_workers` | 8 | never spawned above |\n"
      "| `cost_hint` | 1.0 | expected cost of a task, used when `worker.weight_by_cost` is on, and by the chain planner |\n"
      "| `takes`, `produces` | the worker's own | MIME types the class converts between, for `auto` dispatch rules (the chain planner); e.g. `[\"image/gif\"]` |\n"
      "| `handoff_to` | [] | classes this class's workers may hand a task on to through their stub (e.g. big pages to a faster parser) |\n"
      "| `args` | {} | name = value pairs handed to the worker at start-up |\n\n"
      "A request for a class that is not declared is refused with a clear error.\n";
  return out;
}

std::string Config::RunDir() const { return cluster.run_dir.empty() ? "/tmp/tacc-" + cluster.name : cluster.run_dir; }

std::string Config::KeyFile() const { return cluster.key_file.empty() ? RunDir() + "/cluster.key" : cluster.key_file; }

const ClassConfig* Config::FindClass(const std::string& name) const {
  auto it = classes.find(name);
  return it == classes.end() ? nullptr : &it->second;
}

std::vector<std::string> ConfigArgs::ToArgv() const {
  std::vector<std::string> argv;
  if (!path.empty()) argv.insert(argv.end(), {"--config", path});
  for (auto& o : overrides) argv.insert(argv.end(), {"--set", o});
  return argv;
}

}  // namespace tacc
