// libFuzzer target for RelayParser: the bytes a client (or a back end) sends the l7
// dispatcher, which re-frames every message instead of passing it through.
//
// The first input byte chooses a request or a response; the rest is parsed as the
// dispatcher parses it (head, then the body into a small lent buffer, re-chunked if
// chunked). Checks, for every message whose head the parser accepts: no crash or
// sanitizer report; the head written holds no CR or LF but in CRLF pairs (no field can
// be injected); that head, ended, parses again, to the same framing (Content-Length,
// chunked); and when the whole message was read, what goes on carries the same body as
// Beast's own message parser reads from the original bytes. A request that reached a
// front end framed differently from how the dispatcher read it is a smuggled request.
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "frontdoor/relay_parser.h"

namespace {

namespace bhttp = boost::beast::http;
using boost::beast::error_code;

constexpr uint32_t kHeaderLimit = 8 * 1024;
constexpr uint64_t kBodyLimit = 64 * 1024;

void Check(bool ok, const char* what) {
  if (!ok) {
    fprintf(stderr, "relay_parser_fuzz: %s\n", what);
    abort();
  }
}

bool OnlyCrlfPairs(const std::string& s) {
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\r' && (i + 1 >= s.size() || s[i + 1] != '\n')) return false;
    if (s[i] == '\n' && (i == 0 || s[i - 1] != '\r')) return false;
  }
  return true;
}

// Beast's message parser over all of `bytes`: the body, if the message is whole.
template <bool isRequest>
bool ReferenceBody(std::string_view bytes, std::string* body, bool* chunked, boost::optional<uint64_t>* length) {
  bhttp::parser<isRequest, bhttp::string_body> p;
  p.header_limit(kHeaderLimit);
  p.body_limit(kBodyLimit);
  p.eager(true);
  error_code ec;
  size_t used = 0;
  while (!p.is_done() && used < bytes.size()) {
    size_t n = p.put(boost::asio::buffer(bytes.data() + used, bytes.size() - used), ec);
    if (ec) return false;
    if (n == 0) return false;
    used += n;
  }
  if (!p.is_done()) return false;
  *body = p.get().body();
  *chunked = p.chunked();
  *length = p.content_length();
  return true;
}

template <bool isRequest>
void RoundTrip(std::string_view input) {
  std::string head;
  tacc::frontdoor::RelayParser<isRequest> p(head);
  p.header_limit(kHeaderLimit);
  p.body_limit(kBodyLimit);
  p.eager(true);
  char buf[256];
  std::string body_out;
  error_code ec;
  std::string_view in = input;
  while (!in.empty() && !p.is_done()) {
    p.LendBody(buf);
    ec = {};
    size_t n = p.put(boost::asio::buffer(in.data(), in.size()), ec);
    body_out.append(buf, p.body_size());
    in.remove_prefix(n);
    if (ec == bhttp::error::need_buffer) continue;
    if (ec || n == 0) break;
  }
  if (!p.is_header_done() || (ec && ec != bhttp::error::need_buffer && ec != bhttp::error::need_more)) return;
  Check(OnlyCrlfPairs(head), "a lone CR or LF in the head written");

  // The head as it goes on (the dispatcher adds only Connection and X-Forwarded-For).
  std::string forwarded = head + "\r\n";
  bhttp::parser<isRequest, bhttp::string_body> again;
  again.header_limit(kHeaderLimit * 2);
  error_code aec;
  again.put(boost::asio::buffer(forwarded), aec);
  if (aec == bhttp::error::need_buffer) aec = {};  // a body follows; only the head is parsed here
  Check(!aec && again.is_header_done(), "the head written does not parse again");
  Check(again.chunked() == p.chunked(), "the head written is chunked differently");
  Check(again.content_length() == p.content_length(), "the head written has another Content-Length");

  if (!p.is_done()) return;
  std::string reference;
  bool chunked = false;
  boost::optional<uint64_t> length;
  if (!ReferenceBody<isRequest>(input, &reference, &chunked, &length)) return;
  std::string whole = forwarded + body_out;
  std::string relayed;
  bool relayed_chunked = false;
  boost::optional<uint64_t> relayed_length;
  Check(ReferenceBody<isRequest>(whole, &relayed, &relayed_chunked, &relayed_length), "what goes on is not a whole message");
  Check(relayed == reference, "what goes on carries another body");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (data[0] & 1) RoundTrip<false>(input);
  else RoundTrip<true>(input);
  return 0;
}
