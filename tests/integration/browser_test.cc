// A real browser through TranSend (issue 7): headless Chromium from Debian, with its
// background networking, component updates and sync off so that it asks for nothing but
// the test's pages, loads a small multi-page site through the forward proxy and through
// the reverse proxy, and the preferences page. scripts/install-deps.sh installs it.
#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <boost/json/src.hpp>  // Boost.JSON compiled here: the tests link no Boost.JSON library

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "cluster_harness.h"
#include "test_origin.h"
#include "workers/image/jpeg_codec.h"

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

// What Chromium's NetLog says it asked for: every URL a request was started for (some
// never leave the browser), and every request line it wrote to a socket, each once
// ("GET http://h:p/x HTTP/1.1" and "CONNECT h:443 HTTP/1.1" to a proxy; lines sent inside
// a tunnel too). An unreadable log is one line saying so, which no test expects.
struct NetLogRequests {
  std::vector<std::string> urls;
  std::vector<std::string> sent;
};
NetLogRequests ReadNetLog(const std::string& text) {
  NetLogRequests r;
  auto add = [](std::vector<std::string>& v, std::string s) {
    if (s.size() >= 2 && s.compare(s.size() - 2, 2, "\r\n") == 0) s.resize(s.size() - 2);
    if (std::find(v.begin(), v.end(), s) == v.end()) v.push_back(std::move(s));
  };
  boost::system::error_code ec;
  boost::json::value log = boost::json::parse(text, ec);
  const boost::json::object* o = log.if_object();
  const boost::json::value* types = o ? o->if_contains("constants") : nullptr;
  types = types && types->is_object() ? types->as_object().if_contains("logEventTypes") : nullptr;
  const boost::json::value* events = o ? o->if_contains("events") : nullptr;
  if (ec || !types || !types->is_object() || !events || !events->is_array()) {
    r.sent.push_back("<NetLog unreadable: " + (ec ? ec.message() : std::string("no constants.logEventTypes or events")) + ">");
    return r;
  }
  std::map<int64_t, std::string> names;
  for (const auto& [name, id] : types->as_object())
    if (id.is_int64()) names[id.as_int64()] = std::string(name);
  for (const auto& e : events->as_array()) {
    const auto* eo = e.if_object();
    const auto* type = eo ? eo->if_contains("type") : nullptr;
    const auto* params = eo ? eo->if_contains("params") : nullptr;
    if (!type || !type->is_int64() || !params || !params->is_object()) continue;
    const std::string& name = names[type->as_int64()];
    if (name == "URL_REQUEST_START_JOB")
      if (const auto* url = params->as_object().if_contains("url"); url && url->is_string()) add(r.urls, std::string(url->as_string()));
    if (name == "HTTP_TRANSACTION_SEND_REQUEST_HEADERS" || name == "HTTP_TRANSACTION_SEND_TUNNEL_HEADERS")
      if (const auto* line = params->as_object().if_contains("line"); line && line->is_string()) add(r.sent, std::string(line->as_string()));
  }
  return r;
}

// Runs headless Chromium with `flags` on `url` and returns the DOM it ends with; if
// `requests`, also what it asked for, from its NetLog.
//
// Besides the switches that turn background networking, component updates and sync off,
// three requests a fresh profile of Chromium 156 still makes at start-up need their own
// (found with a recording proxy and no bypass list): the network time query
// (clients2.google.com/time: NetworkTimeServiceQuerying), the on-device model manifest
// (update.googleapis.com, an on-demand install --disable-component-update does not stop:
// a manifest override that names no file), and accounts.google.com/ListAccounts (no
// switch, feature or preference stops it: --gaia-url sends it to port 9, which Chromium
// refuses to connect to, so it never leaves the browser).
std::string ChromiumDom(const std::string& flags, const std::string& url, NetLogRequests* requests = nullptr) {
  auto dir = std::filesystem::temp_directory_path() / ("tacc-chromium-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::string out = (dir / "dom.html").string();
  std::string netlog = (dir / "netlog.json").string();
  std::string cmd = "timeout 60 chromium --headless=new --no-sandbox --disable-gpu --disable-dev-shm-usage --no-first-run "
                    "--disable-background-networking --disable-component-update --disable-sync --disable-default-apps "
                    "--disable-domain-reliability --disable-client-side-phishing-detection "
                    "--disable-features=OptimizationHints,MediaRouter,NetworkTimeServiceQuerying "
                    "--optimization-guide-manifest-override=" +
                    (dir / "no-manifest").string() + " --gaia-url=http://127.0.0.1:9/ --metrics-recording-only --user-data-dir=" +
                    (dir / "profile").string() + " --virtual-time-budget=5000 " + (requests ? "--log-net-log=" + netlog + " " : "") + flags +
                    " --dump-dom '" + url + "' > " + out + " 2>/dev/null";
  int rc = std::system(cmd.c_str());
  std::ifstream f(out);
  std::stringstream ss;
  ss << f.rdbuf();
  if (requests) {
    std::ifstream n(netlog);
    std::stringstream ns;
    ns << n.rdbuf();
    *requests = ReadNetLog(ns.str());
  }
  std::filesystem::remove_all(dir);
  return rc == 0 ? ss.str() : "chromium exited with " + std::to_string(rc) + ": " + ss.str();
}


class BrowserTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (std::system("command -v chromium > /dev/null") != 0) GTEST_SKIP() << "chromium is not installed (scripts/install-deps.sh installs it)";
  }
};

// Chromium uses the front end as its proxy for everything (no bypass list: loopback too),
// so whatever it asks for, the proxy sees. It must ask for nothing but the test's pages:
// every request line it wrote is a GET of one of the site's paths (or its favicon), and
// the front end answered exactly as many requests as reached the origin through it (so
// nothing went by the proxy that the NetLog might not show).
TEST_F(BrowserTest, PagesAndImagesArriveThroughTheForwardProxyAndNothingElseIsAskedFor) {
  TestOrigin origin(Site);
  ClusterHarness c({.settings = {"frontend.service=transend", "proxy.allowed_destinations=[\"127.0.0.1/32\"]"}});
  c.Start();
  std::string proxy = "http://127.0.0.1:" + std::to_string(c.FrontendPort());
  std::string site = "http://127.0.0.1:" + std::to_string(origin.port());
  auto proxied_at_origin = [&] {
    int64_t n = 0;
    for (const auto& r : origin.requests()) n += std::string(r["Via"]).find("tacc-" + c.name()) != std::string::npos;
    return n;
  };
  // "<-loopback>" only removes the implicit loopback bypass: the bypass list is empty.
  const std::string flags = "--proxy-server=" + proxy + " --proxy-bypass-list='<-loopback>'";
  auto only_the_site = [&](const std::string& page, const std::string& expect) {
    int64_t answered_before = c.Metric("tacc_http_requests_total"), origin_before = proxied_at_origin();
    EXPECT_GE(answered_before, 0) << "the metrics page did not answer";
    NetLogRequests asked;
    std::string dom = ChromiumDom(flags, site + page, &asked);
    EXPECT_NE(dom.find(expect), std::string::npos) << dom;
    std::string unexpected;
    bool sent_page = false;
    for (const auto& l : asked.sent) {
      bool ours = false;
      for (const char* path : {"/index.html", "/a.png", "/page2.html", "/favicon.ico"})
        ours = ours || l == "GET " + site + path + " HTTP/1.1";
      sent_page = sent_page || l == "GET " + site + page + " HTTP/1.1";
      if (!ours) unexpected += "  " + l + "\n";
    }
    std::string context = "every URL Chromium started a request for: " + ::testing::PrintToString(asked.urls);
    EXPECT_TRUE(sent_page) << "the NetLog shows no request for " << page << "; " << context;
    EXPECT_EQ(unexpected, "") << "Chromium sent more than the test's pages to the proxy:\n" << unexpected << context;
    // The first metrics request is counted too, once it was answered.
    int64_t answered = c.Metric("tacc_http_requests_total") - answered_before - 1, reached_origin = proxied_at_origin() - origin_before;
    EXPECT_EQ(answered, reached_origin) << "the proxy answered " << answered << " requests during the run, the origin got " << reached_origin
                                        << " of them; Chromium's request lines: " << ::testing::PrintToString(asked.sent) << "; " << context
                                        << "; the origin's requests: " << ::testing::PrintToString(origin.targets());
    return dom;
  };
  std::string dom = only_the_site("/index.html", "Front page");
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
  only_the_site("/page2.html", "Second page");
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

// A colourful 640x480 JPEG: red rising to the right, green downwards, blue in waves.
std::string ColourPhoto() {
  workers::image::Raster r;
  r.width = 640;
  r.height = 480;
  r.pixels.resize(640 * 480 * 3);
  for (int y = 0; y < 480; ++y)
    for (int x = 0; x < 640; ++x) {
      uint8_t* p = r.row(y) + static_cast<size_t>(x) * 3;
      p[0] = static_cast<uint8_t>(x * 255 / 640);
      p[1] = static_cast<uint8_t>(y * 255 / 480);
      p[2] = static_cast<uint8_t>((x * 7 + y * 3) % 256);
    }
  workers::image::JpegEncodeOptions o;
  o.quality = 85;
  return *workers::image::EncodeJpeg(r, o);
}

// Pages over dispatch.min_transform_bytes (1 KB), so that the munger takes them.
std::string Page(const std::string& body) {
  return "<!doctype html><html><head><title>start</title></head><body>" + body + "<p>" + std::string(1200, 'x') + "</p></body></html>";
}

// The whole TranSend loop in a browser (issue 8): through the forward proxy a page shows
// its image distilled (half the width), the munger's [orig] link next to it and its
// toolbar; the toolbar's form, used the way a user would (ticking "gray" and applying),
// saves the profile, and the next page's image arrives in gray.
TEST_F(BrowserTest, DistilledImagesRefinementLinksAndAToolbarThatChangesTheProfile) {
  const std::string photo = ColourPhoto();
  TestOrigin origin([&](const TestOrigin::Request& r) {
    std::string t(r.target());
    if (t == "/page.html") return OkAnswer(Page("<h1>Photos</h1><img id=p src=\"/photo.jpg\" onload=\"document.title='w='+this.naturalWidth\">"), "text/html", "");
    if (t == "/apply.html")
      return OkAnswer(Page("<h1>Apply</h1><script>window.onload = function() { document.getElementById('tacc-gray').checked = true; "
                           "document.getElementById('tacc-apply').click(); };</script>"),
                      "text/html", "");
    if (t == "/check.html")
      return OkAnswer(Page("<img id=p src=\"/photo2.jpg\" onload=\"var c = document.createElement('canvas'); c.width = this.naturalWidth; "
                           "c.height = this.naturalHeight; var g = c.getContext('2d'); g.drawImage(this, 0, 0); "
                           "var d = g.getImageData(200, 100, 1, 1).data; document.title = 'px=' + d[0] + ',' + d[1] + ',' + d[2];\">"),
                      "text/html", "");
    if (t == "/photo.jpg" || t == "/photo2.jpg") return OkAnswer(photo, "image/jpeg", "");
    OriginAnswer a;
    a.raw = "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n";
    return a;
  });
  ClusterHarness c({.settings = {"frontend.service=transend", "proxy.allowed_destinations=[\"127.0.0.1/32\"]"}});
  c.Start();
  const std::string flags = "--proxy-server=http://127.0.0.1:" + std::to_string(c.FrontendPort()) + " --proxy-bypass-list='<-loopback>'";
  const std::string site = "http://127.0.0.1:" + std::to_string(origin.port());

  std::string dom = ChromiumDom(flags, site + "/page.html");
  EXPECT_NE(dom.find("<title>w=320</title>"), std::string::npos) << "the image was not distilled to half its width:\n" << dom;
  EXPECT_NE(dom.find("id=\"tacc-toolbar\""), std::string::npos) << "no toolbar:\n" << dom;
  EXPECT_NE(dom.find("class=\"tacc-orig\""), std::string::npos) << "no refinement link:\n" << dom;
  EXPECT_NE(dom.find("/_tacc/orig?u=http%3A%2F%2F127.0.0.1%3A" + std::to_string(origin.port()) + "%2Fphoto.jpg"), std::string::npos) << dom;

  // The pixel the check reads, before the profile changes: in colour.
  auto pixel = [&](const std::string& page, int* r, int* g, int* b) {
    std::string d = ChromiumDom(flags, site + page);
    auto at = d.find("<title>px=");
    if (at == std::string::npos) return "the image did not load:\n" + d;
    return std::sscanf(d.c_str() + at + 10, "%d,%d,%d", r, g, b) == 3 ? std::string() : d.substr(at, 40);
  };
  int r = -1, g = -1, b = -1;
  ASSERT_EQ(pixel("/check.html", &r, &g, &b), "");
  EXPECT_FALSE(r == g && g == b) << "gray before any preference: " << r << "," << g << "," << b;

  // The toolbar, used: the form goes to /_tacc/prefs on the page's host, which the
  // proxy answers itself and saves (the user is this client's address).
  std::string saved = ChromiumDom(flags, site + "/apply.html");
  EXPECT_NE(saved.find("Saved."), std::string::npos) << "the toolbar's form was not saved:\n" << saved;

  ASSERT_EQ(pixel("/check.html", &r, &g, &b), "");
  EXPECT_TRUE(r == g && g == b) << "the next page's image is not gray: " << r << "," << g << "," << b;
}

}  // namespace
}  // namespace tacc::testing
