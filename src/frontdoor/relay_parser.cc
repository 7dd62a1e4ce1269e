#include "frontdoor/relay_parser.h"

#include <boost/algorithm/string/predicate.hpp>
#include <boost/beast/http/error.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <cstring>

namespace tacc::frontdoor {

namespace bhttp = boost::beast::http;

namespace {

// Room a re-chunked piece needs beside its bytes ("<hex>\r\n" ... "\r\n"), and the last
// chunk ("0\r\n\r\n"), which is always left free.
constexpr size_t kChunkFrame = 16 + 2 + 2;
constexpr size_t kLastChunk = 5;

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

void AppendJoined(std::string& to, std::string_view value) {
  if (!to.empty()) to += ", ";
  to.append(value);
}

}  // namespace

template <bool isRequest>
void RelayParser<isRequest>::on_request_impl(verb method, beast_view method_str, beast_view target, int version, error_code&) {
  method_ = method;
  version_ = version;
  head_.append(method_str.data(), method_str.size());
  head_ += ' ';
  target_ = Append(std::string_view(target.data(), target.size()));
  head_ += version >= 11 ? " HTTP/1.1\r\n" : " HTTP/1.0\r\n";
}

template <bool isRequest>
void RelayParser<isRequest>::on_response_impl(int code, beast_view reason, int version, error_code& ec) {
  if (code < 100 || code > 999) {
    ec = bhttp::error::bad_status;
    return;
  }
  status_ = code;
  version_ = version;
  head_ += version >= 11 ? "HTTP/1.1 " : "HTTP/1.0 ";
  fmt::format_to(std::back_inserter(head_), "{} ", code);
  head_.append(reason.data(), reason.size());
  head_ += "\r\n";
}

template <bool isRequest>
void RelayParser<isRequest>::on_field_impl(field name, beast_view name_string, beast_view beast_value, error_code& ec) {
  if (head_done_) return;  // a trailer: dropped, as the chunks are re-framed
  std::string_view value(beast_value.data(), beast_value.size());
  // The parser never hands over a line break inside a value; were one to come, it must
  // not reach the next hop as a field of its own.
  if (value.find_first_of("\r\n") != std::string_view::npos) {
    ec = bhttp::error::bad_value;
    return;
  }
  switch (name) {
    case field::connection:
      for (size_t at = 0; at <= value.size();) {
        size_t comma = std::min(value.find(',', at), value.size());
        auto token = Trim(value.substr(at, comma - at));
        if (!token.empty() && !boost::iequals(token, "close") && !boost::iequals(token, "keep-alive")) AppendJoined(connection_tokens_, token);
        at = comma + 1;
      }
      return;
    case field::expect:
      if constexpr (isRequest) {
        if (boost::iequals(Trim(value), "100-continue")) {
          expects_continue_ = true;
          return;
        }
      }
      break;
    case field::unknown:  // Beast has no enum value for X-Forwarded-For
      if constexpr (isRequest) {
        if (boost::iequals(std::string_view(name_string.data(), name_string.size()), "X-Forwarded-For")) {
          AppendJoined(forwarded_for_, value);
          return;
        }
      }
      break;
    default:
      break;
  }
  head_.append(name_string.data(), name_string.size());
  head_ += ": ";
  Range r = Append(value);
  head_ += "\r\n";
  if (name == field::host) {
    if (host_fields_++ == 0) host_ = r;
  } else if (name == field::transfer_encoding) {
    if (te_fields_++ == 0) te_ = r;
  } else if (name == field::content_length) {
    ++cl_fields_;
  }
}

template <bool isRequest>
void RelayParser<isRequest>::on_header_impl(error_code&) {
  head_done_ = true;
}

template <bool isRequest>
void RelayParser<isRequest>::on_body_init_impl(const boost::optional<std::uint64_t>&, error_code&) {}

template <bool isRequest>
std::size_t RelayParser<isRequest>::on_body_impl(beast_view body, error_code& ec) {
  size_t n = std::min(body.size(), sink_.size() - used_);
  if (n == 0) {
    ec = bhttp::error::need_buffer;
    return 0;
  }
  std::memcpy(sink_.data() + used_, body.data(), n);
  used_ += n;
  return n;
}

template <bool isRequest>
void RelayParser<isRequest>::on_chunk_header_impl(std::uint64_t, beast_view, error_code&) {}

template <bool isRequest>
std::size_t RelayParser<isRequest>::on_chunk_body_impl(std::uint64_t, beast_view body, error_code& ec) {
  size_t room = sink_.size() - used_;
  if (room <= kChunkFrame + kLastChunk) {
    ec = bhttp::error::need_buffer;
    return 0;
  }
  size_t n = std::min(body.size(), room - kChunkFrame - kLastChunk);
  if (n == 0) return 0;
  char* out = sink_.data() + used_;
  out = fmt::format_to(out, "{:x}\r\n", n);
  std::memcpy(out, body.data(), n);
  out += n;
  *out++ = '\r';
  *out++ = '\n';
  used_ = static_cast<size_t>(out - sink_.data());
  return n;
}

template <bool isRequest>
void RelayParser<isRequest>::on_finish_impl(error_code& ec) {
  if (!this->chunked()) return;
  // The last chunk; on_chunk_body_impl always leaves room for it in a lent buffer.
  if (sink_.size() - used_ < kLastChunk) {
    ec = bhttp::error::buffer_overflow;
    return;
  }
  std::memcpy(sink_.data() + used_, "0\r\n\r\n", kLastChunk);
  used_ += kLastChunk;
}

template class RelayParser<true>;
template class RelayParser<false>;

}  // namespace tacc::frontdoor
