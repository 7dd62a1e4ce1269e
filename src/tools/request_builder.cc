#include "tools/request_builder.h"

#include <fmt/format.h>

namespace tacc::tools {

namespace {

// "http://host:port/p?q" -> ("http://host:port", "/p?q"); a bare path -> ("", path).
std::pair<std::string_view, std::string_view> SplitUrl(std::string_view url) {
  auto scheme = url.find("://");
  if (scheme == std::string_view::npos) return {"", url};
  auto path = url.find('/', scheme + 3);
  if (path == std::string_view::npos) return {url, "/"};
  return {url.substr(0, path), url.substr(path)};
}

uint64_t Fnv1a(std::string_view s, uint64_t h) {
  for (unsigned char c : s) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return h;
}

}  // namespace

bool ParseTargetMode(std::string_view name, TargetMode* out) {
  if (name == "forward") {
    *out = TargetMode::kForward;
  } else if (name == "reverse") {
    *out = TargetMode::kReverse;
  } else if (name == "url-api" || name == "urlapi") {
    *out = TargetMode::kUrlApi;
  } else {
    return false;
  }
  return true;
}

std::string UserToken(std::string_view user) {
  return fmt::format("{:016x}{:016x}", Fnv1a(user, 0xcbf29ce484222325ULL), Fnv1a(user, 0x84222325cbf29ce4ULL));
}

RequestBuilder::RequestBuilder(RequestShape shape) : shape_(std::move(shape)) {
  fixed_headers_ = "User-Agent: tacc-play\r\n";
  for (const auto& h : shape_.extra_headers) fixed_headers_ += h + "\r\n";
}

Result<std::string> RequestBuilder::Build(std::string_view method, std::string_view url, std::string_view user_token,
                                          std::string_view target_authority) const {
  auto [base, path] = SplitUrl(url);
  if (!shape_.origin.empty()) base = shape_.origin;
  std::string absolute = fmt::format("{}{}", base, path);
  std::string target;
  std::string host;
  switch (shape_.mode) {
    case TargetMode::kForward: {
      if (base.empty()) return Status::InvalidArgument(fmt::format("'{}' is a path: forward-proxy requests need absolute URLs (give --origin)", url));
      target = absolute;
      host = std::string(base.substr(base.find("://") + 3));
      break;
    }
    case TargetMode::kReverse:
      target = std::string(path);
      host = !shape_.host_header.empty() ? shape_.host_header : std::string(target_authority);
      break;
    case TargetMode::kUrlApi: {
      if (base.empty()) return Status::InvalidArgument(fmt::format("'{}' is a path: URL API requests need absolute URLs (give --origin)", url));
      const tacc_layer::UrlSigningKey* key = shape_.url_api_key ? &*shape_.url_api_key : nullptr;
      target = tacc_layer::MakeTransformPath(absolute, shape_.url_api_options, key);
      host = !shape_.host_header.empty() ? shape_.host_header : std::string(target_authority);
      break;
    }
  }
  std::string out;
  out.reserve(target.size() + host.size() + fixed_headers_.size() + 96);
  out.append(method).append(" ").append(target).append(" HTTP/1.1\r\nHost: ").append(host).append("\r\n").append(fixed_headers_);
  if (!user_token.empty() && !shape_.user_cookie.empty()) out.append("Cookie: ").append(shape_.user_cookie).append("=").append(user_token).append("\r\n");
  if (method == "POST" || method == "PUT") out.append("Content-Length: 0\r\n");
  out.append("\r\n");
  return out;
}

}  // namespace tacc::tools
