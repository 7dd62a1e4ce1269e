#include "http/proxy_headers.h"

#include <gtest/gtest.h>

#include <boost/beast/http/fields.hpp>

namespace tacc::http {
namespace {

namespace bhttp = boost::beast::http;

TEST(ProxyHeadersTest, HopByHopFieldsAndThoseConnectionNamesAreRemoved) {
  bhttp::fields f;
  f.insert(bhttp::field::connection, "keep-alive, X-Secret-Hop");
  f.insert(bhttp::field::connection, "close");
  f.insert(bhttp::field::keep_alive, "timeout=5");
  f.insert(bhttp::field::transfer_encoding, "chunked");
  f.insert(bhttp::field::te, "trailers");
  f.insert(bhttp::field::trailer, "X-Checksum");
  f.insert(bhttp::field::upgrade, "websocket");
  f.insert(bhttp::field::proxy_authorization, "Basic abc");
  f.insert(bhttp::field::proxy_authenticate, "Basic");
  f.insert("Proxy-Connection", "keep-alive");
  f.insert("x-secret-hop", "1");  // named by Connection, case differs
  f.insert(bhttp::field::content_type, "text/html");
  f.insert(bhttp::field::cache_control, "max-age=60");
  f.insert("X-Kept", "yes");
  RemoveHopByHop(f);
  int left = 0;
  for (auto& h : f) {
    ++left;
    EXPECT_TRUE(h.name() == bhttp::field::content_type || h.name() == bhttp::field::cache_control || h.name_string() == "X-Kept")
        << "hop-by-hop field kept: " << h.name_string();
  }
  EXPECT_EQ(left, 3);
}

TEST(ProxyHeadersTest, ViaIsAppendedAfterTheEntriesThereWere) {
  bhttp::fields f;
  f.insert(bhttp::field::via, "1.0 fred, 1.1 p.example.net");
  AppendVia(f, ProtocolVersion(11), "tacc-c1");
  std::vector<std::string> lines;
  auto [b, e] = f.equal_range(bhttp::field::via);
  for (auto it = b; it != e; ++it) lines.emplace_back(it->value());
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0], "1.0 fred, 1.1 p.example.net");
  EXPECT_EQ(lines[1], "1.1 tacc-c1");
  // A pseudonym that is not a token cannot inject list elements or fields.
  bhttp::fields g;
  AppendVia(g, "1.1", "evil, 1.1 x\r\nX-Injected: 1");
  EXPECT_EQ(std::string(g[bhttp::field::via]).find_first_of(",\r\n :"), std::string("1.1").size());
  EXPECT_EQ(g.count("X-Injected"), 0u);
}

TEST(ProxyHeadersTest, OurOwnViaEntryIsALoop) {
  bhttp::fields f;
  EXPECT_FALSE(ViaHasLoop(f, "tacc-c1"));
  f.insert(bhttp::field::via, "1.1 squid (squid/5.7, with a comma), HTTP/1.1 other:8080");
  EXPECT_FALSE(ViaHasLoop(f, "tacc-c1"));
  EXPECT_FALSE(ViaHasLoop(f, "with"));  // text inside a comment is no received-by
  EXPECT_TRUE(ViaHasLoop(f, "other:8080"));
  f.insert(bhttp::field::via, "1.0 TACC-C1 (tacc)");
  EXPECT_TRUE(ViaHasLoop(f, "tacc-c1"));
  EXPECT_FALSE(ViaHasLoop(f, "tacc-c2"));
}

TEST(ProxyHeadersTest, ProtocolVersionText) {
  EXPECT_EQ(ProtocolVersion(10), "1.0");
  EXPECT_EQ(ProtocolVersion(11), "1.1");
}

}  // namespace
}  // namespace tacc::http
