// `tacc url`: the URL API's keys and signed paths (src/tacc/url_api.h).
//
//   tacc url key                                    a new "<hex key>:<hex salt>" for url_api.keys
//   tacc url sign http://site/a.jpg -o w:320 -o q:60 [--base http://proxy:8080] [-c cluster.toml]
#include <openssl/rand.h>

#include <iostream>

#include "cli/common_flags.h"
#include "tacc/url_api.h"

namespace tacc::cli {

namespace {
struct UrlFlags {
  CommonFlags common;
  std::string source;
  std::vector<std::string> options;
  std::string base;
};

std::string Hex(const unsigned char* p, size_t n) {
  static const char* d = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < n; ++i) {
    out += d[p[i] >> 4];
    out += d[p[i] & 15];
  }
  return out;
}
}  // namespace

void AddUrlCommand(CLI::App& app) {
  auto* cmd = app.add_subcommand("url", "Keys and signed paths for the URL API (/_tacc/t/...)");
  cmd->require_subcommand(1);
  auto f = std::make_shared<UrlFlags>();

  auto* key = cmd->add_subcommand("key", "Print a new random signing key and salt for url_api.keys");
  key->callback([] {
    unsigned char k[32], s[16];
    if (RAND_bytes(k, sizeof k) != 1 || RAND_bytes(s, sizeof s) != 1) {
      std::cerr << "tacc url key: no randomness available\n";
      g_exit_code = kExitInternal;
      return;
    }
    std::cout << Hex(k, sizeof k) << ":" << Hex(s, sizeof s) << "\n";
  });

  auto* sign = cmd->add_subcommand("sign", "Print the URL API path (or URL, with --base) for a source URL, signed with the first of url_api.keys");
  AddCommonFlags(*sign, f->common);
  sign->add_option("source", f->source, "The source URL (http:// or https://)")->required();
  sign->add_option("--option,-o", f->options, "A transform option name:value (w:320, h:240, q:60, f:webp, dpr:2, gray:1); repeatable");
  sign->add_option("--base", f->base, "Front end to put in front of the path, e.g. http://127.0.0.1:8080");
  sign->callback([f] {
    auto c = Config::Load(f->common.config_path, f->common.overrides);
    if (!c.ok()) {
      std::cerr << "tacc url sign: " << c.status().message() << "\n";
      g_exit_code = kExitUsage;
      return;
    }
    auto keys = tacc_layer::ParseSigningKeys(c->url_api.keys);
    if (!keys.ok()) {
      std::cerr << "tacc url sign: setting 'url_api.keys': " << keys.status().message() << "\n";
      g_exit_code = kExitUsage;
      return;
    }
    if (keys->empty() && !c->url_api.allow_unsigned) {
      std::cerr << "tacc url sign: no url_api.keys configured (make one with `tacc url key`)\n";
      g_exit_code = kExitUsage;
      return;
    }
    std::map<std::string, std::string> options;
    for (const auto& o : f->options) {
      auto colon = o.find(':');
      if (colon == std::string::npos || colon == 0) {
        std::cerr << "tacc url sign: option '" << o << "' is not name:value\n";
        g_exit_code = kExitUsage;
        return;
      }
      options[o.substr(0, colon)] = o.substr(colon + 1);
    }
    std::cout << f->base << tacc_layer::MakeTransformPath(f->source, options, keys->empty() ? nullptr : &keys->front()) << "\n";
  });
}

}  // namespace tacc::cli
