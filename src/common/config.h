// Config: every setting of a tacc process, with its name, documentation and default.
//
// One TOML file configures a whole cluster; each process reads the same file and the
// same `--set key=value` overrides (children inherit them through ConfigArgs). Every
// setting is declared once in config.cc (name, doc, default, validation), which drives
// parsing, `--print-config` and docs/configuration.md, so a setting cannot exist
// undocumented. A bad setting fails Load() with a message that names it.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/status.h"

namespace tacc {

// How a worker class is run: which built-in worker implements it and how many of it.
struct ClassConfig {
  std::string name;
  std::string worker;           // registered worker implementation; default = name
  int min_workers = 0;          // never reap below this; spawned at start-up
  int max_workers = 8;          // never spawn above this
  double cost_hint = 1.0;       // expected cost of one task, for weighted load reports and chain planning
  std::vector<std::string> takes, produces;  // MIME types, for chain planning; empty: the worker's own
  std::vector<std::string> handoff_to;       // classes its workers may hand a task on to (WorkerFunction's Handoff)
  std::map<std::string, std::string> args;  // passed to the worker at start-up
};

struct Config {
  struct Cluster {
    std::string name = "tacc";
    std::string host = "127.0.0.1";
    std::string run_dir;  // empty: /tmp/tacc-<name>
    std::string key_file;  // empty: <run_dir>/cluster.key
  } cluster;
  struct Beacon {
    std::string mode = "multicast";
    std::string group = "239.255.80.1";
    int port = 7401;
    int ttl = 1;
    std::string interface = "127.0.0.1";
    int interval_ms = 500;
    std::vector<std::string> unicast_seeds;
    int subscription_ttl_ms = 5000;
    int max_subscribers = 4096;
    int max_datagram_bytes = 1400;
    int freshness_ms = 5000;
  } beacon;
  struct Manager {
    int port = 0;
    int peer_timeout_ms = 3000;
    double load_smoothing = 0.3;
    int policy_interval_ms = 250;
    std::string spawn_policy = "threshold";
    double spawn_threshold = 4.0;  // H
    double spawn_hold_s = 5.0;     // D
    double reap_idle_s = 30.0;     // R
    double reap_threshold = 1.0;   // L: reap one when the class would stay under it with one worker fewer, for R s
    int spawn_timeout_ms = 10000;
    int restart_backoff_min_ms = 200;
    int restart_backoff_max_ms = 10000;
    int restart_window_s = 60;
    int restart_max = 5;
    bool manage_frontends = false;
    int adopt_grace_ms = 1500;
    std::string launcher = "local";
    int max_connections = 20000;
  } manager;
  struct Frontend {
    int count = 1;
    std::string host = "127.0.0.1";
    int port = 8080;
    int threads = 0;
    std::string service = "transend";
    int manager_timeout_ms = 2000;
    bool restart_manager = true;
    std::string admin_host = "127.0.0.1";
    int admin_port = 9080;
    int stop_grace_ms = 10000;
  } frontend;
  struct Http {
    int max_header_bytes = 16 * 1024;
    int64_t max_body_bytes = 10 * 1024 * 1024;
    int idle_timeout_ms = 30000;
    int read_timeout_ms = 10000;
    int request_timeout_ms = 30000;
    int max_connections = 10000;
    int64_t max_buffered_bytes = int64_t{256} << 20;
    std::vector<std::string> trusted_proxies;  // CIDRs whose X-Forwarded-For is believed
  } http;
  struct Proxy {  // TranSend's proxy (issue 7): whom it serves and where it may go
    std::vector<std::string> client_networks = {"127.0.0.0/8", "::1/128"};
    std::vector<std::string> allowed_destinations;  // non-public networks it may still connect to
    std::vector<std::string> reverse_origins;        // "host=http[s]://origin[:port]": reverse proxy by Host
    int connect_timeout_ms = 5000;
    int read_timeout_ms = 30000;
    int64_t max_body_bytes = int64_t{64} << 20;
    std::vector<std::string> connect_ports = {"443"};  // CONNECT tunnels only to these ports (or ranges "a-b")
    int tunnel_idle_timeout_ms = 300000;
    std::string origin_ca_file;  // extra trusted CAs (PEM) for HTTPS origins
    int max_connections_per_origin = 256;  // per front-end thread
    int max_idle_per_origin = 32;
    int max_idle_connections = 512;
    int idle_origin_timeout_ms = 15000;
  } proxy;
  struct Dispatch {  // TACC layer: which worker chain a response goes through (src/tacc/dispatch_rules.h)
    std::vector<std::string> rules;   // "<mime> [size>=N] [size<=N] [profile.k=v] -> class | class{arg=v}"
    int64_t min_transform_bytes = 1024;
    int chain_deadline_ms = 5000;
    double overload_queue = 16;  // a class whose workers' mean queue is above this gets approximate answers; 0: never
  } dispatch;
  struct UrlApi {  // /_tacc/t/<signature>/<options>/<base64url source> (src/tacc/url_api.h)
    bool enabled = true;
    std::vector<std::string> keys;  // "<hex key>:<hex salt>", several for rotation
    bool allow_unsigned = false;    // accept "unsafe" as a signature
    std::vector<std::string> sizes;  // allowed "WxH" ("320x240", "640x": any height); empty: any
    int max_redirects = 5;
  } url_api;
  struct Profiles {  // the customization database (src/tacc/profile_store.h)
    std::string path;              // SQLite file; empty: <run_dir>/profiles.db
    std::string cookie = "tacc_user";
    int cache_entries = 10000;     // per front-end thread
    int cache_ttl_ms = 30000;
  } profiles;
  struct Cache {  // the virtual cache: partitions are workers of cache.worker_class
    bool enabled = true;
    std::string worker_class = "cache";
    int timeout_ms = 200;  // a partition slower than this is a miss
    int64_t max_object_bytes = int64_t{8} << 20;
    // Each front end also keeps the objects it used most recently (up to local_budget_mb,
    // shared by its threads; objects up to local_max_object_bytes) for local_ttl_ms, so a
    // hot object needs no round trip to its partition. 0 MB turns this off.
    double local_budget_mb = 32;
    int64_t local_max_object_bytes = 256 << 10;
    int local_ttl_ms = 1000;
    int variants_per_object = 8;  // variants of one original remembered for approximate answers
  } cache;
  struct Frontdoor {  // `tacc dispatch`: one address for the cluster, spread over the front ends (src/frontdoor/)
    std::string mode = "relay";          // relay (user-space splice) | l7 (HTTP, by content) | nat (L4/3) | dsr (L4/2)
    std::string address = "127.0.0.1";  // the cluster address clients connect to
    int port = 8000;
    std::string interface;               // nat/dsr: the device facing clients and front ends ("": the one routing to address)
    std::vector<std::string> backends;   // static back ends "host:port" or "host:port*weight" (servers that are not tacc)
    bool from_beacons = true;            // join the cluster: front ends (and their loads) from the manager's beacons
    std::string policy = "round_robin";
    bool affinity = false;               // the same client goes to the same back end ...
    int affinity_timeout_s = 300;        // ... until it has been silent this long (LocalDirector's 5 minutes)
    int lard_idle = 30;                  // LARD T_low: connections (L_idle)
    int lard_overload = 130;             // LARD T_high (L_overload)
    double chash_epsilon = 0.25;         // bounded-load consistent hashing: at most (1+eps) x average
    int health_interval_ms = 1000;
    int health_timeout_ms = 500;
    int health_rise = 2;                 // checks that must pass before a failed back end is readmitted
    int health_fall = 3;                 // failures (active or passive) in a row that take a back end out
    std::string health_path;             // "": a TCP connect is the check; else GET this path, 2xx/3xx passes
    int connect_timeout_ms = 1000;
    int idle_timeout_ms = 60000;
    int max_connections = 10000;
    int max_pending = 256;               // connections accepted but not yet forwarded (relay/l7); SYN backlog
    int syn_rate = 0;                    // nat/dsr: new connections per second to the cluster address (0: no limit)
    std::string standby_peer;            // host:port of the other dispatcher ("": no hot standby)
    int priority = 100;                  // the higher of two live dispatchers is the active one
    int heartbeat_ms = 200;
    int takeover_misses = 3;             // heartbeats missed before the standby takes the address (Magicrouter)
    std::string failover_state = "stateless";  // stateless | replicated | rebuild
    int rebuild_timeout_ms = 1000;       // rebuild: how long the new active dispatcher waits for each front end's report
    int rebuild_max_connections = 100000;  // rebuild: connections asked of each front end
  } frontdoor;
  struct Stub {
    std::string balance_policy = "lottery";
    bool delta_estimator = true;
    int task_timeout_ms = 5000;
    int max_retries = 1;
    int spawn_wait_ms = 5000;
    int connect_timeout_ms = 1000;
  } stub;
  struct Worker {
    int max_queue = 256;
    int report_ms = 200;
    bool weight_by_cost = false;
    int drain_grace_ms = 1000;
    int max_connections = 1024;
    int hang_timeout_ms = 30000;
  } worker;
  struct Wire {
    int64_t max_frame_bytes = 64 * 1024 * 1024;
    int64_t max_unregistered_frame_bytes = 64 * 1024;
    int64_t max_outbox_bytes = 256 * 1024 * 1024;
    int handshake_timeout_ms = 2000;
    int heartbeat_ms = 10000;
    int max_pending_handshakes = 128;
  } wire;
  struct Log {
    std::string level = "info";
  } log;

  std::map<std::string, ClassConfig> classes;

  Config();  // installs the default class table

  // Builds a config from an optional TOML file plus "key=value" overrides, in order.
  static Result<Config> Load(const std::string& path, const std::vector<std::string>& overrides);

  // The effective configuration as TOML, each setting preceded by its documentation.
  std::string ToToml() const;
  // Markdown reference of every setting (docs/configuration.md is generated from it).
  static std::string Reference();

  std::string RunDir() const;
  std::string KeyFile() const;  // cluster.key_file, or <run_dir>/cluster.key
  const ClassConfig* FindClass(const std::string& name) const;
};

// The config file and overrides this process was started with, so that it can start
// its peers (workers, front ends, a replacement manager) with the same configuration.
struct ConfigArgs {
  std::string path;
  std::vector<std::string> overrides;
  std::vector<std::string> ToArgv() const;  // {"--config", path, "--set", k=v, ...}
};

}  // namespace tacc
