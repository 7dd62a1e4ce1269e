// `tacc trace`: workloads for `tacc play` (src/tools/).
//
//   tacc trace synth -n 1000000 -o day.trace          the paper's workload, synthesised
//   tacc trace stats day.trace                         what a trace holds (mix, sizes, rates)
//   tacc trace import access.log -o mine.trace         a Squid or Common/Combined log, converted
//   tacc trace serve --trace day.trace --port 9000     an origin serving the trace's URLs
#include <unistd.h>

#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <iostream>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include "cli/common_flags.h"
#include "http/server.h"
#include "tools/corpus_origin.h"
#include "tools/think_time.h"
#include "tools/trace_corpus.h"
#include "tools/trace_file.h"
#include "tools/trace_stats.h"
#include "tools/trace_synth.h"

namespace tacc::cli {

namespace {

using namespace tacc::tools;

struct SynthFlags {
  SynthOptions o;
  std::string duration = "24h";
  std::string out = "-";
  bool quiet = false;
};

bool ParseDuration(std::string text, double* seconds) {
  double scale = 1;
  if (!text.empty() && text.back() == 'h') {
    scale = 3600;
    text.pop_back();
  } else if (text.size() > 3 && text.substr(text.size() - 3) == "min") {
    scale = 60;
    text.resize(text.size() - 3);
  }
  if (!ParseSeconds(text, seconds)) return false;
  *seconds *= scale;
  return *seconds > 0;
}

int RunSynth(SynthFlags& f) {
  if (!ParseDuration(f.duration, &f.o.burst.duration_s)) {
    std::cerr << "tacc trace synth: --duration must be a time like 24h, 90min or 600s\n";
    return kExitUsage;
  }
  if (f.o.objects == 0 || f.o.users == 0 || f.o.sites == 0) {
    std::cerr << "tacc trace synth: --objects, --users and --sites must be at least 1\n";
    return kExitUsage;
  }
  if (f.o.burst.b < 0.5 || f.o.burst.b >= 1) {
    std::cerr << "tacc trace synth: --burstiness (the b-model bias) must be in [0.5, 1)\n";
    return kExitUsage;
  }
  if (f.o.gif_share + f.o.html_share + f.o.jpeg_share > 1 + 1e-9) {
    std::cerr << "tacc trace synth: the GIF, HTML and JPEG shares add up to more than 1\n";
    return kExitUsage;
  }
  std::FILE* out = f.out == "-" ? stdout : std::fopen(f.out.c_str(), "w");
  if (!out) {
    std::cerr << "tacc trace synth: can't write '" << f.out << "'\n";
    return kExitUnavailable;
  }
  static char buffer[1 << 20];
  std::setvbuf(out, buffer, _IOFBF, sizeof buffer);
  auto start = std::chrono::steady_clock::now();
  bool progress = !f.quiet && isatty(STDERR_FILENO);
  ObjectCatalog catalog(f.o);
  TraceWriter writer(out);
  std::fprintf(out, "#synth seed=%llu requests=%llu duration_s=%.0f users=%llu objects=%llu object_zipf=%.3f user_zipf=%.3f b=%.3f\n",
               static_cast<unsigned long long>(f.o.seed), static_cast<unsigned long long>(f.o.requests), f.o.burst.duration_s,
               static_cast<unsigned long long>(f.o.users), static_cast<unsigned long long>(f.o.objects), f.o.object_zipf, f.o.user_zipf, f.o.burst.b);
  uint64_t n = 0;
  std::string user;
  SynthesizeTrace(f.o, catalog, [&](int64_t t_us, uint64_t u, const SynthObject& ob) {
    user = fmt::format("u{}", u);
    writer.Write(t_us, user, "GET", ob.url, ob.status, ob.bytes, ob.type);
    if (progress && (++n % 200000) == 0) fmt::print(stderr, "\rtacc trace synth: {} of {} requests", n, f.o.requests);
  });
  if (progress) fmt::print(stderr, "\n");
  bool ok = writer.ok();
  if (out != stdout) ok = std::fclose(out) == 0 && ok;
  else std::fflush(out);
  if (!ok) {
    std::cerr << "tacc trace synth: writing '" << f.out << "' failed\n";
    return kExitUnavailable;
  }
  if (!f.quiet) {
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    fmt::print(stderr, "tacc trace synth: {} requests over {:.0f} s of trace time, {} objects, {} users, in {:.2f} s\n", f.o.requests, f.o.burst.duration_s,
               f.o.objects, f.o.users, secs);
  }
  return kExitOk;
}

struct StatsFlags {
  std::string trace;
  std::string format = "auto";
  std::string rate_csv;
  std::string bucket = "1s";
  std::string sizes_csv;
};

std::string Row(const std::string& name, const ClassStats& c, uint64_t total) {
  auto q = c.sizes.Quantiles({0.5, 0.9, 0.99});
  return fmt::format("  {:<8}{:>10}  {:>6.1f}%  mean {:>9.0f} B  median {:>8.0f}  p90 {:>9.0f}  p99 {:>9.0f}\n", name, c.requests,
                     100.0 * static_cast<double>(c.requests) / static_cast<double>(std::max<uint64_t>(1, total)),
                     c.sized ? c.bytes / static_cast<double>(c.sized) : 0.0, q[0], q[1], q[2]);
}

int RunStats(const StatsFlags& f) {
  TraceFormat format;
  if (!ParseFormatName(f.format, &format)) {
    std::cerr << "tacc trace stats: --format must be auto, tacc, squid or common\n";
    return kExitUsage;
  }
  Trace trace;
  ImportReport import;
  Status s = ReadTraceFile(f.trace, format, &trace, &import);
  if (!s.ok()) {
    std::cerr << "tacc trace stats: " << s.message() << "\n";
    return kExitUsage;
  }
  if (import.bad) std::cerr << "tacc trace stats: " << DescribeBadLines(import) << "\n";
  TraceStats st = ComputeTraceStats(trace);
  fmt::print("{} requests over {:.1f} s ({:.1f}/s), {} users, {} URLs\n\nby content type\n", st.requests, st.span_s,
             st.span_s > 0 ? static_cast<double>(st.requests) / st.span_s : 0.0, st.users, st.urls);
  for (const auto& [name, c] : st.by_type) fmt::print("{}", Row(name, c, st.requests));
  fmt::print("\nby URL extension (as the paper classified)\n");
  for (const auto& [name, c] : st.by_extension) fmt::print("{}", Row(name, c, st.requests));
  fmt::print("\nstatus");
  for (const auto& [code, n] : st.statuses) fmt::print("  {}: {}", code, n);
  fmt::print("\n");
  double bucket = 1;
  if (!ParseDuration(f.bucket, &bucket)) {
    std::cerr << "tacc trace stats: --bucket must be a time like 1s or 5min\n";
    return kExitUsage;
  }
  auto series = RateSeries(trace, bucket);
  if (!series.empty()) {
    uint64_t peak = *std::max_element(series.begin(), series.end());
    double mean = static_cast<double>(st.requests) / static_cast<double>(series.size());
    fmt::print("\nper {}: mean {:.1f}, peak {} ({:.1f}x the mean)\n", f.bucket, mean, peak, static_cast<double>(peak) / std::max(mean, 1e-9));
  }
  if (!f.rate_csv.empty()) {
    std::FILE* c = std::fopen(f.rate_csv.c_str(), "w");
    if (!c) return kExitUnavailable;
    fmt::print(c, "start_s,requests\n");
    for (size_t i = 0; i < series.size(); ++i) fmt::print(c, "{},{}\n", static_cast<double>(i) * bucket, series[i]);
    std::fclose(c);
  }
  if (!f.sizes_csv.empty()) {
    std::FILE* c = std::fopen(f.sizes_csv.c_str(), "w");
    if (!c) return kExitUnavailable;
    fmt::print(c, "class,bytes\n");
    for (const auto& r : trace.records) {
      if (r.bytes >= 0) fmt::print(c, "{},{}\n", ClassOfUrl(r.url), r.bytes);
    }
    std::fclose(c);
  }
  return kExitOk;
}

struct ImportFlags {
  std::string in;
  std::string format = "auto";
  std::string out = "-";
};

int RunImport(const ImportFlags& f) {
  TraceFormat format;
  if (!ParseFormatName(f.format, &format)) {
    std::cerr << "tacc trace import: --format must be auto, tacc, squid or common\n";
    return kExitUsage;
  }
  Trace trace;
  ImportReport import;
  Status s = ReadTraceFile(f.in, format, &trace, &import);
  if (!s.ok()) {
    std::cerr << "tacc trace import: " << s.message() << "\n";
    return kExitUsage;
  }
  std::FILE* out = f.out == "-" ? stdout : std::fopen(f.out.c_str(), "w");
  if (!out) {
    std::cerr << "tacc trace import: can't write '" << f.out << "'\n";
    return kExitUnavailable;
  }
  TraceWriter w(out);
  for (const auto& r : trace.records) w.Write(r, trace);
  bool ok = w.ok();
  if (out != stdout) ok = std::fclose(out) == 0 && ok;
  fmt::print(stderr, "tacc trace import: {} requests, {} users{}{}\n", trace.records.size(), trace.users.size(), import.bad ? "; " : "",
             DescribeBadLines(import));
  return ok ? kExitOk : kExitUnavailable;
}

struct ServeFlags {
  std::string trace;
  std::string format = "auto";
  std::string host = "127.0.0.1";
  int port = 9000;
  std::vector<std::string> photos{TACC_DEFAULT_PHOTOS};
  std::vector<std::string> drawings{"/usr/share/icons/Adwaita"};
  std::string delay = "0";
  int max_drawings = 24;
  int max_side = 2048;
};

int RunServe(const ServeFlags& f) {
  TraceFormat format;
  if (!ParseFormatName(f.format, &format)) {
    std::cerr << "tacc trace serve: --format must be auto, tacc, squid or common\n";
    return kExitUsage;
  }
  OriginDelay delay;
  if (!ParseOriginDelay(f.delay, &delay)) {
    std::cerr << "tacc trace serve: --delay must be a time (200ms) or a spread low:high (100ms:100s)\n";
    return kExitUsage;
  }
  Trace trace;
  ImportReport import;
  Status s = ReadTraceFile(f.trace, format, &trace, &import);
  if (!s.ok()) {
    std::cerr << "tacc trace serve: " << s.message() << "\n";
    return kExitUsage;
  }
  if (import.bad) std::cerr << "tacc trace serve: " << DescribeBadLines(import) << "\n";
  CorpusSources sources;
  sources.photo_dirs = f.photos;
  sources.drawing_dirs = f.drawings;
  sources.max_drawings = f.max_drawings;
  sources.max_long_side = f.max_side;
  auto images = CorpusImages::Build(sources);
  if (!images.ok()) {
    std::cerr << "tacc trace serve: " << images.status().message() << "\n";
    return kExitUnavailable;
  }
  TraceCorpus corpus(trace, &*images);
  boost::asio::io_context ctx(1);
  std::atomic<uint64_t> served{0};
  CorpusOrigin origin(ctx, corpus, delay, &served);
  http::ServerLimits limits;
  limits.max_connections = 60000;
  limits.idle_timeout_ms = 120000;
  limits.write_timeout_ms = 300000;
  http::Server server(ctx, limits, origin);
  if (Status ls = server.Listen(f.host, f.port, false); !ls.ok()) {
    std::cerr << "tacc trace serve: " << ls.message() << "\n";
    return kExitUnavailable;
  }
  fmt::print("tacc trace serve: {} URLs on http://{}:{} ({} photos, {} drawings; {} JPEG, {} GIF, {} PNG encodings)\n", corpus.size(), f.host,
             server.port(), images->photos(), images->drawings(), images->count(PictureFormat::kJpeg), images->count(PictureFormat::kGif),
             images->count(PictureFormat::kPng));
  std::fflush(stdout);
  boost::asio::signal_set signals(ctx, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code&, int) {
    server.Stop();
    ctx.stop();
  });
  ctx.run();
  fmt::print(stderr, "tacc trace serve: {} answers served\n", served.load());
  return kExitOk;
}

}  // namespace



void AddTraceCommand(CLI::App& app) {
  auto* cmd = app.add_subcommand("trace", "Workloads for `tacc play`: synthesise, inspect, import, serve");
  cmd->require_subcommand(1);

  auto sf = std::make_shared<SynthFlags>();
  auto* synth = cmd->add_subcommand("synth", "Write a synthetic trace with the SNS paper's workload statistics (MIME mix, sizes, Zipf users and URLs, bursts)");
  synth->add_option("--requests,-n", sf->o.requests, "Requests in the trace")->capture_default_str();
  synth->add_option("--duration,-d", sf->duration, "Trace time they spread over (24h, 90min, 600s)")->capture_default_str();
  synth->add_option("--users", sf->o.users, "Distinct users (the paper: 25,000 dial-up users)")->capture_default_str();
  synth->add_option("--user-zipf", sf->o.user_zipf, "Zipf exponent of user activity")->capture_default_str();
  synth->add_option("--objects", sf->o.objects, "Distinct URLs")->capture_default_str();
  synth->add_option("--object-zipf", sf->o.object_zipf, "Zipf exponent of URL popularity")->capture_default_str();
  synth->add_option("--sites", sf->o.sites, "Distinct web sites the URLs are on")->capture_default_str();
  synth->add_option("--gif", sf->o.gif_share, "Share of GIF requests")->capture_default_str();
  synth->add_option("--html", sf->o.html_share, "Share of HTML requests")->capture_default_str();
  synth->add_option("--jpeg", sf->o.jpeg_share, "Share of JPEG requests (the rest: other types)")->capture_default_str();
  synth->add_option("--error-share", sf->o.error_share, "Share of image URLs that are error pages (404, small HTML)")->capture_default_str();
  synth->add_option("--burstiness", sf->o.burst.b, "b-model bias: 0.5 smooth, 0.7 very bursty")->capture_default_str();
  synth->add_option("--daily-amplitude", sf->o.burst.daily_amplitude, "Daily cycle: the rate swings by this fraction of its mean")->capture_default_str();
  synth->add_option("--peak-hour", sf->o.burst.peak_hour, "Hour of the daily peak")->capture_default_str();
  synth->add_option("--start-hour", sf->o.burst.start_hour, "Wall-clock hour the trace starts at")->capture_default_str();
  synth->add_option("--domain", sf->o.domain, "Sites are s<N>.<domain>")->capture_default_str();
  synth->add_option("--seed", sf->o.seed, "Seed: the same seed and options give the same trace, byte for byte")->capture_default_str();
  synth->add_option("--out,-o", sf->out, "Output file ('-': stdout)")->capture_default_str();
  synth->add_flag("--quiet,-q", sf->quiet, "No progress or summary on stderr");
  synth->callback([sf] { g_exit_code = RunSynth(*sf); });

  auto tf = std::make_shared<StatsFlags>();
  auto* stats = cmd->add_subcommand("stats", "Print what a trace holds: MIME mix, sizes per class, users, URLs, rates");
  stats->add_option("trace", tf->trace, "Trace file (tacc, Squid or Common/Combined; '-': stdin)")->required();
  stats->add_option("--format", tf->format, "auto, tacc, squid, common")->capture_default_str();
  stats->add_option("--bucket", tf->bucket, "Time bucket of the rate summary and --rate-csv")->capture_default_str();
  stats->add_option("--rate-csv", tf->rate_csv, "Write requests per bucket as CSV here (Figure 6)");
  stats->add_option("--sizes-csv", tf->sizes_csv, "Write every request's class (by extension) and size as CSV here (Figure 5)");
  stats->callback([tf] { g_exit_code = RunStats(*tf); });

  auto imf = std::make_shared<ImportFlags>();
  auto* import = cmd->add_subcommand("import", "Convert a Squid access.log or a Common/Combined log into a tacc trace (bad lines counted)");
  import->add_option("log", imf->in, "Log file ('-': stdin)")->required();
  import->add_option("--format", imf->format, "auto, squid, common")->capture_default_str();
  import->add_option("--out,-o", imf->out, "Output file ('-': stdout)")->capture_default_str();
  import->callback([imf] { g_exit_code = RunImport(*imf); });

  auto svf = std::make_shared<ServeFlags>();
  auto* serve = cmd->add_subcommand("serve", "An origin server for a trace's URLs: real pictures and pages of the logged types and sizes");
  serve->add_option("--trace", svf->trace, "The trace whose URLs to serve (tacc, Squid or Common/Combined)")->required();
  serve->add_option("--format", svf->format, "auto, tacc, squid, common")->capture_default_str();
  serve->add_option("--host", svf->host, "Address to listen on (loopback by default: the origin is for tests and benchmarks)")->capture_default_str();
  serve->add_option("--port", svf->port, "Port (0: any, printed)")->capture_default_str();
  serve->add_option("--photos", svf->photos, "Directories of JPEG photos to make the pictures from; repeatable")->capture_default_str();
  serve->add_option("--drawings", svf->drawings, "Directories of PNG drawings (icons), searched recursively; repeatable")->capture_default_str();
  serve->add_option("--delay", svf->delay, "Delay before each answer: a time (200ms) or log-uniform per URL low:high (100ms:100s)")->capture_default_str();
  serve->add_option("--max-drawings", svf->max_drawings, "Drawings to take at most (fewer: quicker start)")->capture_default_str();
  serve->add_option("--max-side", svf->max_side, "Largest picture encoded, long side in px (fewer: quicker start; larger sizes are padded)")
      ->capture_default_str();
  serve->callback([svf] { g_exit_code = RunServe(*svf); });
}

}  // namespace tacc::cli
