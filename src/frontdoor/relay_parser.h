// RelayParser: the l7 dispatcher's HTTP/1 message parser. Beast's basic_parser does the
// parsing (the same grammar, limits and framing errors as the front end's own server);
// this parser keeps no field container. As the head is parsed it writes the head that
// goes on, start line and each field serialized afresh (so what leaves is what was
// understood, never bytes passed through), and notes what routing and the framing checks
// need. Body bytes are copied into a buffer the caller lends, re-chunked when the
// message is chunked (extensions and trailers dropped).
//
// Not written on: "Expect: 100-continue" (expects_continue(); the dispatcher answers it).
// Left to the caller: the Connection field (its tokens other than close/keep-alive are
// kept in connection_tokens(); the caller says keep-alive or close itself) and, for
// requests, X-Forwarded-For (its values are kept in forwarded_for(); the caller appends
// the client). The head written ends with the last field's CRLF: the caller adds those
// two fields and the blank line.
//
// One parser per message (a basic_parser cannot be reset); the head string and the body
// buffer are the caller's, reused across messages.
#pragma once

#include <boost/beast/http/basic_parser.hpp>

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace tacc::frontdoor {

template <bool isRequest>
class RelayParser : public boost::beast::http::basic_parser<isRequest> {
 public:
  using error_code = boost::beast::error_code;
  using field = boost::beast::http::field;
  using verb = boost::beast::http::verb;
  using beast_view = boost::beast::string_view;

  // `head` is cleared and written as the head is parsed.
  explicit RelayParser(std::string& head) : head_(head) { head_.clear(); }

  // Requests: the method and the request target as received.
  verb method() const { return method_; }
  std::string_view target() const { return View(target_); }
  // Responses: the status code.
  int status() const { return status_; }
  int version() const { return version_; }
  // The one Host field's value ("" if none; host_fields() says how many came).
  std::string_view host() const { return View(host_); }
  int host_fields() const { return host_fields_; }
  int transfer_encoding_fields() const { return te_fields_; }
  std::string_view transfer_encoding() const { return View(te_); }
  bool has_content_length_field() const { return cl_fields_ > 0; }
  // Every X-Forwarded-For value, joined with ", " (requests; empty if none came).
  const std::string& forwarded_for() const { return forwarded_for_; }
  // The Connection fields' tokens other than close and keep-alive, joined with ", ".
  const std::string& connection_tokens() const { return connection_tokens_; }
  // Requests: "Expect: 100-continue" came (and was not written on: the dispatcher itself
  // tells the client to go on, since it reads the body before the back end answers).
  bool expects_continue() const { return expects_continue_; }

  // Where the next body bytes go; body_size() counts what was written there since.
  void LendBody(std::span<char> buffer) {
    sink_ = buffer;
    used_ = 0;
  }
  size_t body_size() const { return used_; }

 private:
  struct Range {
    size_t at = 0, size = 0;
  };
  std::string_view View(Range r) const { return std::string_view(head_).substr(r.at, r.size); }
  Range Append(std::string_view s) {
    Range r{head_.size(), s.size()};
    head_.append(s);
    return r;
  }

  void on_request_impl(verb method, beast_view method_str, beast_view target, int version, error_code& ec) override;
  void on_response_impl(int code, beast_view reason, int version, error_code& ec) override;
  void on_field_impl(field name, beast_view name_string, beast_view value, error_code& ec) override;
  void on_header_impl(error_code& ec) override;
  void on_body_init_impl(const boost::optional<std::uint64_t>& content_length, error_code& ec) override;
  std::size_t on_body_impl(beast_view body, error_code& ec) override;
  void on_chunk_header_impl(std::uint64_t size, beast_view extensions, error_code& ec) override;
  std::size_t on_chunk_body_impl(std::uint64_t remain, beast_view body, error_code& ec) override;
  void on_finish_impl(error_code& ec) override;

  std::string& head_;
  bool head_done_ = false;  // fields after the head are a chunked body's trailers
  verb method_ = verb::unknown;
  Range target_, host_, te_;
  int status_ = 0, version_ = 11;
  int host_fields_ = 0, te_fields_ = 0, cl_fields_ = 0;
  bool expects_continue_ = false;
  std::string forwarded_for_, connection_tokens_;
  std::span<char> sink_;
  size_t used_ = 0;
};

extern template class RelayParser<true>;
extern template class RelayParser<false>;

}  // namespace tacc::frontdoor
