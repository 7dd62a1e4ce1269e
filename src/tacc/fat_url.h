// FatUrl: the virtual cache's key for a distilled variant (paper §3.1.5: "fat URLs").
//
// An original is cached under its URL; a variant a worker made from it is cached under
// the URL plus the parameters that shaped it (sorted, so the same parameters in any
// order give the same key). The separator can't appear in a URL, so no variant's key
// equals an original's or another variant's.
#pragma once

#include <map>
#include <string>
#include <string_view>

namespace tacc::tacc_layer {

// Key of the variant of `url` made with `params`; with no params, the original's key.
std::string FatUrl(std::string_view url, const std::map<std::string, std::string>& params);

}  // namespace tacc::tacc_layer
