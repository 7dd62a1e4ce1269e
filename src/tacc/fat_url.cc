#include "tacc/fat_url.h"

namespace tacc::tacc_layer {

std::string FatUrl(std::string_view url, const std::map<std::string, std::string>& params) {
  std::string key(url);
  if (params.empty()) return key;
  key += '\x1f';  // never in a URL (RFC 3986 allows no control characters)
  bool first = true;
  for (const auto& [k, v] : params) {  // std::map: sorted by name
    if (!first) key += '&';
    first = false;
    key += k;
    key += '=';
    key += v;
  }
  return key;
}

}  // namespace tacc::tacc_layer
