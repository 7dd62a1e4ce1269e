// A real browser through TranSend (issue 7): headless Chromium from Debian, with its
// background networking, component updates and sync off so that it asks for nothing but
// the test's pages, loads a small multi-page site through the forward proxy and through
// the reverse proxy, and the preferences page. scripts/install-deps.sh installs it.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "cluster_harness.h"
#include "test_origin.h"

namespace tacc::testing {
namespace {

// A 1x1 PNG.
const std::string kPng(
    "\x89\x50\x4e\x47\x0d\x0a\x1a\x0a\x00\x00\x00\x0d\x49\x48\x44\x52"
    "\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4"
    "\x89\x00\x00\x00\x0d\x49\x44\x41\x54\x78\x9c\x63\xf8\xcf\xc0\xf0"
    "\x1f\x00\x05\x00\x01\xff\x89\x99\x3d\x1d\x00\x00\x00\x00\x49\x45"
    "\x4e\x44\xae\x42\x60\x82",
    70);

OriginAnswer Site(const TestOrigin::Request& r) {
  std::string t(r.target());
  if (t == "/index.html")
    return OkAnswer("<!doctype html><html><body><h1 id=t>Front page</h1><img id=i src=\"/a.png\" onload=\"document.title='img ok'\">"
                    "<a href=\"/page2.html\">next</a></body></html>",
                    "text/html", "");
  if (t == "/page2.html") return OkAnswer("<!doctype html><html><body><p>Second page</p></body></html>", "text/html", "");
  if (t == "/a.png") return OkAnswer(kPng, "image/png", "");
  OriginAnswer a;
  a.raw = "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n";
  return a;
}

// Runs headless Chromium with `flags` on `url` and returns the DOM it ends with.
std::string ChromiumDom(const std::string& flags, const std::string& url) {
  auto dir = std::filesystem::temp_directory_path() / ("tacc-chromium-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::string out = (dir / "dom.html").string();
  std::string cmd = "timeout 60 chromium --headless=new --no-sandbox --disable-gpu --disable-dev-shm-usage --no-first-run "
                    "--disable-background-networking --disable-component-update --disable-sync --disable-default-apps "
                    "--disable-domain-reliability --disable-client-side-phishing-detection --disable-features=OptimizationHints,MediaRouter "
                    "--metrics-recording-only --user-data-dir=" +
                    (dir / "profile").string() + " --virtual-time-budget=5000 " + flags + " --dump-dom '" + url + "' > " + out + " 2>/dev/null";
  int rc = std::system(cmd.c_str());
  std::ifstream f(out);
  std::stringstream ss;
  ss << f.rdbuf();
  std::filesystem::remove_all(dir);
  return rc == 0 ? ss.str() : "chromium exited with " + std::to_string(rc) + ": " + ss.str();
}

class BrowserTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (std::system("command -v chromium > /dev/null") != 0) GTEST_SKIP() << "chromium is not installed (scripts/install-deps.sh installs it)";
  }
};

TEST_F(BrowserTest, PagesAndImagesArriveThroughTheForwardProxy) {
  TestOrigin origin(Site);
  ClusterHarness c({.settings = {"frontend.service=transend", "proxy.allowed_destinations=[\"127.0.0.1/32\"]"}});
  c.Start();
  std::string proxy = "http://127.0.0.1:" + std::to_string(c.FrontendPort());
  // Chromium sends loopback straight out unless told not to bypass the proxy for it.
  std::string dom = ChromiumDom("--proxy-server=" + proxy + " --proxy-bypass-list='<-loopback>'",
                                "http://127.0.0.1:" + std::to_string(origin.port()) + "/index.html");
  EXPECT_NE(dom.find("Front page"), std::string::npos) << dom;
  EXPECT_NE(dom.find("<title>img ok</title>"), std::string::npos) << "the image did not load:\n" << dom;
  auto reqs = origin.requests();
  bool page = false, image = false;
  for (const auto& r : reqs) {
    bool proxied = std::string(r["Via"]).find("tacc-" + c.name()) != std::string::npos;
    if (r.target() == "/index.html") page = page || proxied;
    if (r.target() == "/a.png") image = image || proxied;
  }
  EXPECT_TRUE(page) << "the page did not come through the proxy";
  EXPECT_TRUE(image) << "the image did not come through the proxy";
  std::string page2 = ChromiumDom("--proxy-server=" + proxy + " --proxy-bypass-list='<-loopback>'",
                                  "http://127.0.0.1:" + std::to_string(origin.port()) + "/page2.html");
  EXPECT_NE(page2.find("Second page"), std::string::npos) << page2;
}

TEST_F(BrowserTest, ASiteBehindTheReverseProxyAndThePreferencesPage) {
  TestOrigin origin(Site);
  ClusterHarness c({.settings = {"frontend.service=transend",
                                 "proxy.reverse_origins=[\"site.test=http://127.0.0.1:" + std::to_string(origin.port()) + "\"]"}});
  c.Start();
  std::string fe = "127.0.0.1:" + std::to_string(c.FrontendPort());
  std::string dom = ChromiumDom("--host-resolver-rules='MAP site.test " + fe + "'", "http://site.test/index.html");
  EXPECT_NE(dom.find("Front page"), std::string::npos) << dom;
  EXPECT_NE(dom.find("<title>img ok</title>"), std::string::npos) << "the image did not load:\n" << dom;
  bool host_kept = false;
  for (const auto& r : origin.requests()) host_kept = host_kept || std::string(r["Host"]) == "site.test";
  EXPECT_TRUE(host_kept);
  std::string prefs = ChromiumDom("", "http://" + fe + "/_tacc/prefs");
  EXPECT_NE(prefs.find("TranSend preferences"), std::string::npos) << prefs;
  EXPECT_NE(prefs.find("name=\"quality\""), std::string::npos) << prefs;
}

}  // namespace
}  // namespace tacc::testing
