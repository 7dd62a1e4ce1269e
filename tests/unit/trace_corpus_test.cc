// The origin corpus of `tacc trace serve` (src/tools/corpus_images.h, page_maker.h,
// trace_corpus.h, corpus_origin.h): bodies of exactly the logged size, pictures that
// still decode after padding, pages that reference their site's images, delays per URL.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include "tools/corpus_images.h"
#include "tools/corpus_origin.h"
#include "tools/page_maker.h"
#include "tools/trace_corpus.h"
#include "workers/image/gif_codec.h"
#include "workers/image/jpeg_codec.h"
#include "workers/image/png_codec.h"

namespace tacc::tools {
namespace {

namespace img = tacc::workers::image;

const CorpusImages& Images() {
  static const CorpusImages* images = [] {
    CorpusSources s;
    s.photo_dirs = {std::string(TACC_TEST_DATA_DIR) + "/photos"};
    s.drawing_dirs = {"/usr/share/icons/Adwaita"};
    s.max_drawings = 6;
    s.max_long_side = 640;  // bigger sizes come by padding: quicker under the sanitizers
    auto r = CorpusImages::Build(s);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return new CorpusImages(std::move(*r));
  }();
  return *images;
}

bool Decodes(PictureFormat f, const std::string& bytes) {
  img::ImageLimits limits;
  switch (f) {
    case PictureFormat::kJpeg:
      return img::DecodeJpeg(bytes, limits, [](img::Size s) { return s; }).ok();
    case PictureFormat::kGif:
      return img::DecodeGif(bytes, limits, 1, [](const img::GifFrame&) { return true; }).ok();
    case PictureFormat::kPng:
      return img::DecodePng(bytes, limits).ok();
  }
  return false;
}

TEST(TraceCorpusTest, PicturesHaveExactlyTheDrawnSizeAndStillDecode) {
  const auto& images = Images();
  for (PictureFormat f : {PictureFormat::kJpeg, PictureFormat::kGif, PictureFormat::kPng}) {
    ASSERT_GT(images.count(f), 10u);
    int64_t lo = f == PictureFormat::kJpeg ? 1000 : f == PictureFormat::kGif ? 60 : 150;
    for (int64_t size : {lo, lo + 1, lo + 7, int64_t{3428}, int64_t{12070}, int64_t{70001}, int64_t{300000}}) {
      for (uint64_t hash : {1u, 2u, 3u}) {
        std::string b = images.Make(f, size, hash);
        EXPECT_EQ(static_cast<int64_t>(b.size()), size) << "format " << static_cast<int>(f) << " size " << size;
        EXPECT_TRUE(Decodes(f, b)) << "format " << static_cast<int>(f) << " size " << size;
      }
    }
  }
}

TEST(TraceCorpusTest, PaddingEdgesOfEachFormat) {
  const auto& images = Images();
  std::string jpeg = images.Make(PictureFormat::kJpeg, 5000, 1);
  // A JPEG padded by 4 (one empty comment), by 65537+3 (a second segment must fit), by a lot.
  std::string base = images.Make(PictureFormat::kJpeg, 1, 1);  // the smallest, unpadded
  for (int64_t extra : {4, 5, 65537, 65540, 65541, 200000}) {
    std::string p = PadPicture(PictureFormat::kJpeg, base, static_cast<int64_t>(base.size()) + extra);
    EXPECT_EQ(p.size(), base.size() + static_cast<size_t>(extra)) << extra;
    EXPECT_TRUE(Decodes(PictureFormat::kJpeg, p)) << extra;
  }
  std::string gif = images.Make(PictureFormat::kGif, 1, 1);
  for (int64_t extra : {5, 6, 258, 259, 260, 1000}) {
    std::string p = PadPicture(PictureFormat::kGif, gif, static_cast<int64_t>(gif.size()) + extra);
    EXPECT_EQ(p.size(), gif.size() + static_cast<size_t>(extra)) << extra;
    EXPECT_TRUE(Decodes(PictureFormat::kGif, p)) << extra;
  }
  // Too little room for a comment: unchanged.
  EXPECT_EQ(PadPicture(PictureFormat::kGif, gif, static_cast<int64_t>(gif.size()) + 3), gif);
  EXPECT_EQ(PadPicture(PictureFormat::kPng, "short", 100), "short");
}

TEST(TraceCorpusTest, PagesAreExactSizesAndReferenceTheirImages) {
  for (int64_t size : {int64_t{150}, int64_t{700}, int64_t{5131}, int64_t{100000}}) {
    std::string page = MakeHtmlPage(size, 7, {"/i1/a.gif", "/i1/b.jpg"}, {"/p1/c.html"});
    EXPECT_EQ(static_cast<int64_t>(page.size()), size);
    EXPECT_TRUE(page.ends_with("</html>\n")) << size;
    if (size >= 5000) {
      EXPECT_NE(page.find("<img src=\"/i1/a.gif\""), std::string::npos);
      EXPECT_NE(page.find("<img src=\"/i1/b.jpg\""), std::string::npos);
      EXPECT_NE(page.find("<a href=\"/p1/c.html\""), std::string::npos);
    }
    EXPECT_EQ(MakeHtmlPage(size, 7, {}, {}), MakeHtmlPage(size, 7, {}, {}));  // deterministic
  }
  for (int64_t size : {int64_t{250}, int64_t{420}, int64_t{700}}) {
    std::string e = MakeErrorPage(size, "/i3/9.gif");
    EXPECT_EQ(static_cast<int64_t>(e.size()), size);
    EXPECT_NE(e.find("404 Not Found"), std::string::npos);
  }
  EXPECT_EQ(MakeStyleSheet(3000, 1).size(), 3000u);
  EXPECT_EQ(MakeScript(3000, 1).size(), 3000u);
  EXPECT_EQ(MakeBinary(3000, 1).size(), 3000u);
}

TEST(TraceCorpusTest, AnswersFollowTheTraceAndIgnoreTheHost) {
  Trace t;
  t.users = {"u"};
  auto add = [&](std::string url, int status, int64_t bytes, std::string type) {
    TraceRecord r;
    r.url = std::move(url);
    r.status = status;
    r.bytes = bytes;
    r.type = std::move(type);
    t.records.push_back(r);
  };
  add("http://s1.synth.test/i1/1.jpg", 200, 9000, "image/jpeg");
  add("http://s1.synth.test/i1/2.gif", 404, 333, "text/html");
  add("http://s1.synth.test/p1/3.html", 200, 6000, "text/html");
  add("http://s2.synth.test/i2/4.gif", 200, 2000, "image/gif");
  add("http://s1.synth.test/i1/5.gif", 304, 0, "");  // a 304 logged no body: the class's mean
  TraceCorpus c(t, &Images());
  EXPECT_EQ(c.size(), 5u);
  auto jpeg = c.Answer("/i1/1.jpg");
  ASSERT_TRUE(jpeg);
  EXPECT_EQ(jpeg->status, 200);
  EXPECT_EQ(jpeg->type, "image/jpeg");
  EXPECT_EQ(jpeg->body.size(), 9000u);
  auto absolute = c.Answer("http://127.0.0.1:9000/i1/1.jpg");
  ASSERT_TRUE(absolute);
  EXPECT_EQ(absolute->body, jpeg->body);
  auto err = c.Answer("/i1/2.gif");
  EXPECT_EQ(err->status, 404);
  EXPECT_EQ(err->body.size(), 333u);
  auto page = c.Answer("/p1/3.html");
  EXPECT_EQ(page->body.size(), 6000u);
  EXPECT_NE(page->body.find("/i1/1.jpg"), std::string::npos);  // its own site's picture...
  EXPECT_EQ(page->body.find("/i2/4.gif"), std::string::npos);  // ...not another site's
  EXPECT_EQ(c.Answer("/i1/5.gif")->body.size(), 3428u);
  EXPECT_FALSE(c.Answer("/nowhere"));
}

TEST(TraceCorpusTest, OriginDelaysAreFixedOrSpreadPerUrl) {
  OriginDelay d;
  EXPECT_TRUE(ParseOriginDelay("200ms", &d));
  EXPECT_DOUBLE_EQ(d.min_s, 0.2);
  EXPECT_DOUBLE_EQ(d.max_s, 0.2);
  EXPECT_FALSE(ParseOriginDelay("2s:1s", &d));
  EXPECT_FALSE(ParseOriginDelay("0:1s", &d));  // log-uniform needs a low bound above 0
  ASSERT_TRUE(ParseOriginDelay("100ms:100s", &d));
  Trace t;
  TraceCorpus c(t, nullptr);
  boost::asio::io_context ctx;
  CorpusOrigin o(ctx, c, d, nullptr);
  int below_1s = 0, above_10s = 0;
  for (int i = 0; i < 3000; ++i) {
    double w = o.DelayFor("/x" + std::to_string(i));
    EXPECT_GE(w, 0.1);
    EXPECT_LE(w, 100);
    below_1s += w < 1;
    above_10s += w > 10;
  }
  EXPECT_NEAR(below_1s, 1000, 150);  // a third of the decades each
  EXPECT_NEAR(above_10s, 1000, 150);
  EXPECT_EQ(o.DelayFor("/same"), o.DelayFor("/same"));
}

}  // namespace
}  // namespace tacc::tools
