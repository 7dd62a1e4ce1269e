// The practical limit of JPEG distillation on one core (issue 8): a plain loop of
// libjpeg-turbo decode at a reduced DCT scale (1/2 by default) and re-encode at quality 25,
// with no HTTP, no cluster, no copies but the codec's own. Whatever a distiller worker adds
// (task framing, resampling filters, checks) shows as its distance from this loop.
//
// Reads every input into memory first, checks each decodes (and writes its output with
// --out, for SSIM), then loops over them in order for --seconds on the calling thread (pin it
// with taskset). Prints the rate per wall-clock second and per CPU second of this process
// (the latter does not count time other work on a shared machine took from it), and the
// mean output size over one pass of the corpus (every image once).
//
// Single-threaded, no exceptions out of the codec: libjpeg errors longjmp back to the
// decode/encode call that set the jump (only C frames lie in between).

#include <sys/resource.h>

#include <chrono>
#include <csetjmp>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

// jpeglib.h uses size_t and FILE without including their headers: after <cstdio>.
#include <jpeglib.h>

namespace {

namespace fs = std::filesystem;

constexpr const char* kUsage = R"(Usage: jpeg_loop [options] [FILE.jpg ...]

Decodes each JPEG at 1/SCALE DCT scale and re-encodes it at QUALITY with libjpeg-turbo, in a
loop for SECONDS on one thread; prints images/s and the mean output bytes.

Inputs: the FILEs, or the rows of --set in CORPUS/manifest.tsv (bench/image_corpus.sh).
  --corpus DIR     corpus directory (default bench/corpus)
  --set NAME       small | large | all (default small)
  --seconds S      how long to loop (default 5)
  --scale N        DCT scale denominator: 1, 2, 4 or 8 (default 2)
  --quality Q      output JPEG quality (default 25)
  --ycc            decode to YCbCr and encode from it (skips both colour conversions;
                   default: RGB in between, as a distiller that filters pixels needs)
  --optimize       optimised Huffman tables (smaller output, slower; libjpeg default: off)
  --out DIR        write each input's output once, as DIR/<name> (for SSIM)
  -h, --help       this text

Output: a human line, then one line "RESULT key=value ..." for scripts.
)";

struct ErrorManager {
  jpeg_error_mgr pub;
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
};

[[noreturn]] void OnError(j_common_ptr info) {
  auto* err = reinterpret_cast<ErrorManager*>(info->err);
  (*info->err->format_message)(info, err->message);
  std::longjmp(err->jump, 1);
}

// Corrupt-data warnings go unreported: the first pass already rejects bad inputs.
void OnMessage(j_common_ptr, int) {}

struct Image {
  std::vector<unsigned char> pixels;
  int width = 0;
  int height = 0;
  int components = 0;
  J_COLOR_SPACE space = JCS_UNKNOWN;
};

struct Options {
  std::string corpus = "bench/corpus";
  std::string set = "small";
  double seconds = 5;
  int scale = 2;
  int quality = 25;
  bool ycc = false;
  bool optimize = false;
  std::string out;
  std::vector<std::string> files;
};

// Decodes `in` at 1/denom scale into `img` (its buffer reused). On failure: false, `error` set.
bool Decode(const std::vector<unsigned char>& in, int denom, bool ycc, Image& img,
            std::string& error) {
  jpeg_decompress_struct d;
  ErrorManager err;
  d.err = jpeg_std_error(&err.pub);
  err.pub.error_exit = OnError;
  err.pub.emit_message = OnMessage;
  if (setjmp(err.jump)) {
    jpeg_destroy_decompress(&d);
    error = err.message;
    return false;
  }
  jpeg_create_decompress(&d);
  jpeg_mem_src(&d, in.data(), static_cast<unsigned long>(in.size()));
  jpeg_read_header(&d, TRUE);
  d.scale_num = 1;
  d.scale_denom = static_cast<unsigned>(denom);
  d.out_color_space = d.num_components == 1 ? JCS_GRAYSCALE : (ycc ? JCS_YCbCr : JCS_RGB);
  jpeg_start_decompress(&d);
  img.width = static_cast<int>(d.output_width);
  img.height = static_cast<int>(d.output_height);
  img.components = d.output_components;
  img.space = d.out_color_space;
  const size_t stride = static_cast<size_t>(img.width) * static_cast<size_t>(img.components);
  img.pixels.resize(stride * static_cast<size_t>(img.height));
  while (d.output_scanline < d.output_height) {
    JSAMPROW row = img.pixels.data() + stride * d.output_scanline;
    jpeg_read_scanlines(&d, &row, 1);
  }
  jpeg_finish_decompress(&d);
  jpeg_destroy_decompress(&d);
  return true;
}

// Encodes `img` at `quality` into `out` (replaced). On failure: false, `error` set.
bool Encode(const Image& img, int quality, bool optimize, std::vector<unsigned char>& out,
            std::string& error) {
  jpeg_compress_struct c;
  ErrorManager err;
  unsigned char* buffer = nullptr;  // malloc'd by libjpeg's memory destination
  unsigned long size = 0;
  c.err = jpeg_std_error(&err.pub);
  err.pub.error_exit = OnError;
  err.pub.emit_message = OnMessage;
  if (setjmp(err.jump)) {
    jpeg_destroy_compress(&c);
    std::free(buffer);
    error = err.message;
    return false;
  }
  jpeg_create_compress(&c);
  jpeg_mem_dest(&c, &buffer, &size);
  c.image_width = static_cast<JDIMENSION>(img.width);
  c.image_height = static_cast<JDIMENSION>(img.height);
  c.input_components = img.components;
  c.in_color_space = img.space;
  jpeg_set_defaults(&c);
  jpeg_set_quality(&c, quality, TRUE);
  c.optimize_coding = optimize ? TRUE : FALSE;
  jpeg_start_compress(&c, TRUE);
  const size_t stride = static_cast<size_t>(img.width) * static_cast<size_t>(img.components);
  while (c.next_scanline < c.image_height) {
    auto* row = const_cast<JSAMPROW>(img.pixels.data() + stride * c.next_scanline);
    jpeg_write_scanlines(&c, &row, 1);
  }
  jpeg_finish_compress(&c);
  out.assign(buffer, buffer + size);
  jpeg_destroy_compress(&c);
  std::free(buffer);
  return true;
}

bool ReadFile(const std::string& path, std::vector<unsigned char>& data) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return false;
  data.assign(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
  return true;
}

// Rows of CORPUS/manifest.tsv: "set file bytes width height quality source", '#' comments,
// one header row.
std::vector<std::string> ManifestFiles(const Options& opt) {
  std::vector<std::string> files;
  std::ifstream f(fs::path(opt.corpus) / "manifest.tsv");
  if (!f) return files;
  std::string line;
  while (std::getline(f, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream row(line);
    std::string set, file;
    std::getline(row, set, '\t');
    std::getline(row, file, '\t');
    if (set == "set") continue;
    if (opt.set == "all" || set == opt.set) files.push_back((fs::path(opt.corpus) / file).string());
  }
  return files;
}

double CpuSeconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

// Parses argv into `opt`. Returns 0 to go on, else the exit code (after printing why).
int ParseArgs(int argc, char** argv, Options& opt) {
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&](const char* name) -> const char* {
      if (i + 1 >= argc) {
        std::cerr << "jpeg_loop: " << name << " needs a value\n";
        return nullptr;
      }
      return argv[++i];
    };
    const char* v = nullptr;
    if (a == "-h" || a == "--help") {
      std::cout << kUsage;
      return -1;
    } else if (a == "--ycc") {
      opt.ycc = true;
    } else if (a == "--optimize") {
      opt.optimize = true;
    } else if (a == "--corpus" || a == "--set" || a == "--seconds" || a == "--scale" ||
               a == "--quality" || a == "--out") {
      if ((v = value(a.c_str())) == nullptr) return 2;
      if (a == "--corpus") opt.corpus = v;
      if (a == "--set") opt.set = v;
      if (a == "--seconds") opt.seconds = std::atof(v);
      if (a == "--scale") opt.scale = std::atoi(v);
      if (a == "--quality") opt.quality = std::atoi(v);
      if (a == "--out") opt.out = v;
    } else if (!a.empty() && a[0] == '-') {
      std::cerr << "jpeg_loop: unknown option " << a << "\n" << kUsage;
      return 2;
    } else {
      opt.files.push_back(a);
    }
  }
  if (opt.scale != 1 && opt.scale != 2 && opt.scale != 4 && opt.scale != 8) {
    std::cerr << "jpeg_loop: --scale must be 1, 2, 4 or 8\n";
    return 2;
  }
  if (opt.quality < 1 || opt.quality > 100 || !(opt.seconds > 0)) {
    std::cerr << "jpeg_loop: --quality must be 1..100 and --seconds positive\n";
    return 2;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options opt;
  if (int rc = ParseArgs(argc, argv, opt); rc != 0) return rc < 0 ? 0 : rc;
  if (opt.files.empty()) opt.files = ManifestFiles(opt);
  if (opt.files.empty()) {
    std::cerr << "jpeg_loop: no inputs (no FILEs, and no rows of set '" << opt.set << "' in "
              << opt.corpus << "/manifest.tsv: run bench/image_corpus.sh)\n";
    return 1;
  }

  std::vector<std::vector<unsigned char>> inputs(opt.files.size());
  for (size_t i = 0; i < opt.files.size(); ++i) {
    if (!ReadFile(opt.files[i], inputs[i])) {
      std::cerr << "jpeg_loop: cannot read " << opt.files[i] << "\n";
      return 1;
    }
  }
  if (!opt.out.empty()) fs::create_directories(opt.out);

  // One pass over every input: checks them, gives the mean sizes, writes the outputs.
  Image img;
  std::vector<unsigned char> out;
  std::string error;
  double in_bytes = 0, out_bytes = 0;
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (!Decode(inputs[i], opt.scale, opt.ycc, img, error) ||
        !Encode(img, opt.quality, opt.optimize, out, error)) {
      std::cerr << "jpeg_loop: " << opt.files[i] << ": " << error << "\n";
      return 1;
    }
    in_bytes += static_cast<double>(inputs[i].size());
    out_bytes += static_cast<double>(out.size());
    if (!opt.out.empty()) {
      std::ofstream f(fs::path(opt.out) / fs::path(opt.files[i]).filename(), std::ios::binary);
      f.write(reinterpret_cast<const char*>(out.data()), static_cast<std::streamsize>(out.size()));
    }
  }
  const double n = static_cast<double>(inputs.size());

  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  const auto end = start + std::chrono::duration<double>(opt.seconds);
  const double cpu0 = CpuSeconds();
  long long done = 0;
  size_t next = 0;
  while (Clock::now() < end) {
    if (!Decode(inputs[next], opt.scale, opt.ycc, img, error) ||
        !Encode(img, opt.quality, opt.optimize, out, error)) {
      std::cerr << "jpeg_loop: " << opt.files[next] << ": " << error << "\n";
      return 1;
    }
    ++done;
    next = (next + 1) % inputs.size();
  }
  const double wall = std::chrono::duration<double>(Clock::now() - start).count();
  const double cpu = CpuSeconds() - cpu0;
  const double rate = static_cast<double>(done) / wall;
  const double cpu_rate = cpu > 0 ? static_cast<double>(done) / cpu : 0;

  std::printf(
      "jpeg_loop: %zu images, mean %.0f B in -> %.0f B out (decode at 1/%d scale via %s, "
      "quality %d, Huffman optimisation %s); %lld distilled in %.2f s: %.1f images/s "
      "(%.1f per CPU second, %.3f ms each)\n",
      inputs.size(), in_bytes / n, out_bytes / n, opt.scale, opt.ycc ? "YCbCr" : "RGB",
      opt.quality, opt.optimize ? "on" : "off", done, wall, rate, cpu_rate,
      done ? 1000 * cpu / static_cast<double>(done) : 0.0);
  std::printf(
      "RESULT images=%zu images_per_s=%.1f images_per_cpu_s=%.1f mean_in_bytes=%.0f "
      "mean_out_bytes=%.0f seconds=%.2f cpu_seconds=%.2f\n",
      inputs.size(), rate, cpu_rate, in_bytes / n, out_bytes / n, wall, cpu);
  return 0;
}
