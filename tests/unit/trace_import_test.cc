// Trace reading (src/tools/log_import.h, trace_file.h): our own format, Squid access.log,
// Common and Combined logs; bad lines counted by reason with their line numbers, never fatal.
#include <gtest/gtest.h>

#include <sstream>

#include "tools/trace_file.h"

namespace tacc::tools {
namespace {

Trace Read(const std::string& text, TraceFormat format, ImportReport* report, Status* status = nullptr) {
  std::istringstream in(text);
  Trace t;
  Status s = ReadTrace(in, format, &t, report);
  if (status) *status = s;
  return t;
}

TEST(TraceImportTest, OwnFormatRoundTripsThroughTheWriter) {
  char* buf = nullptr;
  size_t size = 0;
  std::FILE* mem = open_memstream(&buf, &size);
  {
    TraceWriter w(mem);
    w.Write(0, "u1", "GET", "http://o.test/a.gif", 200, 3428, "image/gif");
    w.Write(1500, "u2", "HEAD", "/b.html", 404, -1, "");
    ASSERT_TRUE(w.ok());
  }
  std::fclose(mem);
  std::string text(buf, size);
  free(buf);
  EXPECT_EQ(text.rfind(kTraceMagic, 0), 0u) << text;
  ImportReport r;
  Trace t = Read(text, TraceFormat::kAuto, &r);
  EXPECT_EQ(r.bad, 0) << DescribeBadLines(r);
  ASSERT_EQ(t.records.size(), 2u);
  EXPECT_EQ(t.records[0].url, "http://o.test/a.gif");
  EXPECT_EQ(t.records[0].bytes, 3428);
  EXPECT_EQ(t.records[0].type, "image/gif");
  EXPECT_EQ(t.records[1].t_us, 1500);
  EXPECT_EQ(t.records[1].method, "HEAD");
  EXPECT_EQ(t.records[1].status, 404);
  EXPECT_EQ(t.records[1].bytes, -1);
  EXPECT_EQ(t.records[1].type, "");
  EXPECT_EQ(t.users[t.records[1].user], "u2");
}

TEST(TraceImportTest, SquidLinesStartAtTheirStartTimeAndAreSortedByIt) {
  // Squid logs a request when it ends: the second line started (at .500 - 0.9 s) before the first.
  const std::string log =
      "1066036250.100    100 10.0.0.1 TCP_MISS/200 1234 GET http://a.test/x.gif - DIRECT/1.2.3.4 image/gif\n"
      "1066036250.500    900 10.0.0.2 TCP_HIT/200 5678 GET http://a.test/y.html - NONE/- text/html\n"
      "1066036251.000      5 10.0.0.1 TCP_DENIED/403 0 CONNECT a.test:443 - NONE/- -\n";
  ImportReport r;
  Trace t = Read(log, TraceFormat::kAuto, &r);
  ASSERT_EQ(t.records.size(), 2u);
  EXPECT_TRUE(r.reordered);
  EXPECT_EQ(t.records[0].url, "http://a.test/y.html");
  EXPECT_EQ(t.records[0].t_us, 0);  // relative to the first start: 1066036249.600
  EXPECT_EQ(t.records[1].t_us, 400000);
  EXPECT_EQ(t.records[1].status, 200);
  EXPECT_EQ(t.records[1].bytes, 1234);
  EXPECT_EQ(t.records[1].type, "image/gif");
  EXPECT_EQ(t.users.size(), 2u);
  EXPECT_EQ(r.bad, 1);
  EXPECT_EQ(r.bad_by_reason["bad url"], 1);  // CONNECT host:port is not a URL to replay
  EXPECT_EQ(r.examples["bad url"], std::vector<int64_t>{3});
}

TEST(TraceImportTest, CommonAndCombinedLinesWithTimeZones) {
  const std::string log =
      "127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] \"GET /apache_pb.gif HTTP/1.0\" 200 2326\n"
      "10.1.1.1 - - [10/Oct/2000:20:55:38 +0000] \"GET /index.html HTTP/1.1\" 304 - \"http://ref/\" \"Mozilla/5.0 (X11)\"\n";
  ImportReport r;
  Trace t = Read(log, TraceFormat::kAuto, &r);
  ASSERT_EQ(r.bad, 0) << DescribeBadLines(r);
  ASSERT_EQ(t.records.size(), 2u);
  EXPECT_EQ(t.records[0].url, "/apache_pb.gif");
  EXPECT_EQ(t.records[0].bytes, 2326);
  EXPECT_EQ(t.records[1].t_us, 2000000);  // 13:55:36 -0700 is 20:55:36 UTC
  EXPECT_EQ(t.records[1].status, 304);
  EXPECT_EQ(t.records[1].bytes, -1);
  EXPECT_EQ(t.users[t.records[1].user], "10.1.1.1");
}

TEST(TraceImportTest, BadLinesAreCountedByReasonNeverFatal) {
  const std::string log =
      "127.0.0.1 - - [10/Oct/2000:13:55:36 +0000] \"GET /a HTTP/1.0\" 200 10\n"
      "garbage\n"
      "127.0.0.1 - - [10/Oct/2000:13:55:37 +0000] \"GET /b HTTP/1.0\" 200 10\n"
      "127.0.0.1 - - [31/Foo/2000:13:55:36 +0000] \"GET /c HTTP/1.0\" 200 10\n"
      "127.0.0.1 - - [10/Oct/2000:13:55:38 +0000] \"-\" 400 0\n"
      "127.0.0.1 - - [10/Oct/2000:13:55:38 +0000] \"GET /d HTTP/1.0\" 2x0 10\n"
      "\n"
      "127.0.0.1 - - [10/Oct/2000:13:55:39 +0000] \"GET /e HTTP/1.0\" 200 10\n";
  ImportReport r;
  Status s;
  Trace t = Read(log, TraceFormat::kAuto, &r, &s);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(t.records.size(), 3u);
  EXPECT_EQ(r.records, 3);
  EXPECT_EQ(r.bad, 4);
  EXPECT_EQ(r.lines, 8);
  EXPECT_EQ(r.bad_by_reason["no [time]"], 1);
  EXPECT_EQ(r.bad_by_reason["bad time"], 1);
  EXPECT_EQ(r.bad_by_reason["bad request line"], 1);
  EXPECT_EQ(r.bad_by_reason["bad status"], 1);
  EXPECT_EQ(r.examples["bad status"], std::vector<int64_t>{6});
  std::string d = DescribeBadLines(r);
  EXPECT_NE(d.find("4 bad lines of 8"), std::string::npos) << d;
  EXPECT_NE(d.find("1 bad time (line 4)"), std::string::npos) << d;
}

TEST(TraceImportTest, OwnFormatRejectsWhatItCannotReplay) {
  const std::string text = std::string(kTraceMagic) +
                           "\n0\tu\tGET\t/ok\t200\t1\t-\n"
                           "x\tu\tGET\t/t\t200\t1\t-\n"
                           "5\tu\tget\t/m\t200\t1\t-\n"
                           "6\tu\tGET\tno-slash\t200\t1\t-\n"
                           "7\tu\tGET\t/s\t99\t1\t-\n"
                           "8\tu\tGET\t/b\t200\t-5\t-\n"
                           "9\tu\tGET\t/f\t200\t1\n";
  ImportReport r;
  Trace t = Read(text, TraceFormat::kAuto, &r);
  EXPECT_EQ(t.records.size(), 1u);
  EXPECT_EQ(r.bad_by_reason["bad time"], 1);
  EXPECT_EQ(r.bad_by_reason["bad method"], 1);
  EXPECT_EQ(r.bad_by_reason["bad url"], 1);
  EXPECT_EQ(r.bad_by_reason["bad status"], 1);
  EXPECT_EQ(r.bad_by_reason["bad bytes"], 1);
  EXPECT_EQ(r.bad_by_reason["too few fields"], 1);
}

TEST(TraceImportTest, AFileOfNothingRecognisableIsAClearError) {
  ImportReport r;
  Status s;
  Read("hello\nworld\n", TraceFormat::kAuto, &r, &s);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("Squid"), std::string::npos) << s.message();
  EXPECT_EQ(r.bad, 2);
}

TEST(TraceImportTest, FormatNamesAndSniffing) {
  TraceFormat f;
  EXPECT_TRUE(ParseFormatName("combined", &f));
  EXPECT_EQ(f, TraceFormat::kCommon);
  EXPECT_FALSE(ParseFormatName("w3c", &f));
  EXPECT_EQ(SniffFormat("1.5 3 1.2.3.4 TCP_MISS/200 1 GET http://a/ - DIRECT/- -"), TraceFormat::kSquid);
  EXPECT_EQ(SniffFormat("0\tu\tGET\t/\t200\t1\t-"), TraceFormat::kTacc);
  EXPECT_EQ(SniffFormat("nothing"), TraceFormat::kAuto);
}

}  // namespace
}  // namespace tacc::tools
