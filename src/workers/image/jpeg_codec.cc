#include "workers/image/jpeg_codec.h"

// jpeglib.h needs size_t and FILE declared first.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <csetjmp>
#include <jpeglib.h>

#include <fmt/format.h>

#include <chrono>
#include <vector>

#include "workers/image/exif_orientation.h"

namespace tacc::workers::image {
namespace {

using Clock = std::chrono::steady_clock;

// libjpeg reports errors through these callbacks; error_exit must not return, so it
// jumps back to the setjmp in the function that called libjpeg. Nothing with a
// destructor lives in the frames it skips (libjpeg's own, and these callbacks).
struct ErrorManager {
  jpeg_error_mgr pub;  // first: libjpeg hands back a pointer to it
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX] = {};
  char first_warning[JMSG_LENGTH_MAX] = {};
  int warnings = 0;
};

[[noreturn]] void ErrorExit(j_common_ptr c) {
  auto* e = reinterpret_cast<ErrorManager*>(c->err);
  if (e->message[0] == '\0') (*c->err->format_message)(c, e->message);
  std::longjmp(e->jump, 1);
}

void EmitMessage(j_common_ptr c, int level) {
  if (level >= 0) return;  // trace messages
  auto* e = reinterpret_cast<ErrorManager*>(c->err);
  if (e->warnings++ == 0) (*c->err->format_message)(c, e->first_warning);
}

// Called by libjpeg as it works: stops a file with too many scans (each scan of a
// progressive file may cost a full pass over the coefficients) or taking too long.
struct ProgressMonitor {
  jpeg_progress_mgr pub;  // first
  ErrorManager* err = nullptr;
  Clock::time_point deadline;
  int max_scans = 0;
  long long max_ms = 0;
};

void OnProgress(j_common_ptr c) {
  auto* p = reinterpret_cast<ProgressMonitor*>(c->progress);
  if (c->is_decompressor) {
    auto* d = reinterpret_cast<j_decompress_ptr>(c);
    if (d->input_scan_number > p->max_scans) {
      std::snprintf(p->err->message, sizeof p->err->message, "more than %d scans (image limit max_scans)", p->max_scans);
      std::longjmp(p->err->jump, 1);
    }
  }
  if (Clock::now() > p->deadline) {
    std::snprintf(p->err->message, sizeof p->err->message, "decoding took longer than %lld ms (image limit max_decode_ms)", p->max_ms);
    std::longjmp(p->err->jump, 1);
  }
}

bool IsTransposed(int orientation) { return orientation >= 5 && orientation <= 8; }

}  // namespace

Result<DecodedJpeg> DecodeJpeg(std::string_view bytes, const ImageLimits& limits, const std::function<Size(Size upright)>& target) {
  if (bytes.size() > limits.max_input_bytes)
    return Status::InvalidArgument(fmt::format("{} bytes: over the image limit of {} (max_input_mb)", bytes.size(), limits.max_input_bytes));
  if (bytes.size() < 4 || static_cast<uint8_t>(bytes[0]) != 0xFF || static_cast<uint8_t>(bytes[1]) != 0xD8)
    return Status::InvalidArgument("not a JPEG file (no SOI marker)");

  // Everything with a destructor is made before setjmp, so a jump back skips none.
  DecodedJpeg out;
  std::string error;
  std::vector<uint8_t> cmyk_row;
  Size want;
  jpeg_decompress_struct cinfo;
  ErrorManager err;
  ProgressMonitor progress;
  std::memset(&cinfo, 0, sizeof cinfo);
  cinfo.err = jpeg_std_error(&err.pub);
  err.pub.error_exit = ErrorExit;
  err.pub.emit_message = EmitMessage;
  progress.pub.progress_monitor = OnProgress;
  progress.err = &err;
  progress.deadline = Clock::now() + limits.max_decode;
  progress.max_scans = limits.max_scans;
  progress.max_ms = static_cast<long long>(limits.max_decode.count());

  if (setjmp(err.jump)) {
    jpeg_destroy_decompress(&cinfo);
    return Status::InvalidArgument(std::string("corrupt or unsupported JPEG: ") + err.message);
  }
  jpeg_create_decompress(&cinfo);
  cinfo.progress = &progress.pub;
  jpeg_mem_src(&cinfo, reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<unsigned long>(bytes.size()));
  jpeg_save_markers(&cinfo, JPEG_APP0 + 1, 0xFFFF);  // EXIF
  jpeg_save_markers(&cinfo, JPEG_APP0 + 2, 0xFFFF);  // ICC
  jpeg_read_header(&cinfo, TRUE);

  out.source = Size{static_cast<int>(cinfo.image_width), static_cast<int>(cinfo.image_height)};
  out.progressive = cinfo.progressive_mode != 0;
  if (static_cast<uint64_t>(cinfo.image_width) * cinfo.image_height > limits.max_pixels) {
    error = fmt::format("{}x{} pixels declared: over the image limit of {} (max_megapixels)", cinfo.image_width, cinfo.image_height, limits.max_pixels);
    jpeg_destroy_decompress(&cinfo);
    return Status::InvalidArgument(error);
  }
  for (jpeg_saved_marker_ptr m = cinfo.marker_list; m; m = m->next)
    if (m->marker == JPEG_APP0 + 1) {
      out.orientation = ExifOrientation(std::string_view(reinterpret_cast<const char*>(m->data), m->data_length));
      if (out.orientation != 1) break;
    }

  switch (cinfo.jpeg_color_space) {
    case JCS_GRAYSCALE: cinfo.out_color_space = JCS_GRAYSCALE; break;
    case JCS_CMYK:
    case JCS_YCCK:
      cinfo.out_color_space = JCS_CMYK;
      out.cmyk = true;
      break;
    default: cinfo.out_color_space = JCS_RGB; break;
  }
  if (!out.cmyk) {
    JOCTET* icc = nullptr;
    unsigned int icc_len = 0;
    if (jpeg_read_icc_profile(&cinfo, &icc, &icc_len) && icc) {
      out.icc.assign(reinterpret_cast<const char*>(icc), icc_len);
      std::free(icc);
    }
  }

  // The smallest DCT scale whose output still covers the target.
  const bool transposed = IsTransposed(out.orientation);
  Size upright = transposed ? Size{out.source.height, out.source.width} : out.source;
  want = target(upright);
  if (transposed) want = Size{want.height, want.width};
  for (int d : {8, 4, 2, 1}) {
    cinfo.scale_num = 1;
    cinfo.scale_denom = static_cast<unsigned>(d);
    jpeg_calc_output_dimensions(&cinfo);
    if (static_cast<int>(cinfo.output_width) >= want.width && static_cast<int>(cinfo.output_height) >= want.height) {
      out.scale_denominator = d;
      break;
    }
  }
  jpeg_start_decompress(&cinfo);
  const int components = static_cast<int>(cinfo.output_components);
  out.raster.width = static_cast<int>(cinfo.output_width);
  out.raster.height = static_cast<int>(cinfo.output_height);
  out.raster.channels = out.cmyk ? 3 : components;
  out.raster.pixels.resize(static_cast<size_t>(out.raster.width) * static_cast<size_t>(out.raster.height) * static_cast<size_t>(out.raster.channels));
  if (!out.cmyk) {
    while (cinfo.output_scanline < cinfo.output_height) {
      JSAMPROW row = out.raster.row(static_cast<int>(cinfo.output_scanline));
      jpeg_read_scanlines(&cinfo, &row, 1);
    }
  } else {
    // CMYK to RGB without colour management. Adobe's files (nearly all CMYK JPEGs)
    // store the inks inverted: 255 is no ink.
    cmyk_row.resize(static_cast<size_t>(out.raster.width) * 4);
    const bool inverted = cinfo.saw_Adobe_marker != 0;
    while (cinfo.output_scanline < cinfo.output_height) {
      uint8_t* dst = out.raster.row(static_cast<int>(cinfo.output_scanline));
      JSAMPROW row = cmyk_row.data();
      jpeg_read_scanlines(&cinfo, &row, 1);
      for (int x = 0; x < out.raster.width; ++x) {
        const uint8_t* p = row + static_cast<size_t>(x) * 4;
        const unsigned k = inverted ? p[3] : 255u - p[3];
        for (int c = 0; c < 3; ++c) {
          const unsigned ink = inverted ? p[c] : 255u - p[c];
          dst[static_cast<size_t>(x) * 3 + static_cast<size_t>(c)] = static_cast<uint8_t>((ink * k + 127) / 255);
        }
      }
    }
  }
  jpeg_finish_decompress(&cinfo);
  const int warnings = err.warnings;
  if (warnings > 0) error = std::string("corrupt or truncated JPEG: ") + err.first_warning;
  jpeg_destroy_decompress(&cinfo);
  if (!error.empty()) return Status::InvalidArgument(error);
  return out;
}

Result<std::string> EncodeJpeg(const Raster& raster, const JpegEncodeOptions& options) {
  if (raster.width <= 0 || raster.height <= 0 || (raster.channels != 1 && raster.channels != 3) ||
      raster.pixels.size() != static_cast<size_t>(raster.height) * raster.row_bytes())
    return Status::InvalidArgument("cannot encode an empty or malformed raster");
  if (raster.width > 65500 || raster.height > 65500) return Status::InvalidArgument("a JPEG is at most 65500 pixels on a side");
  jpeg_compress_struct cinfo;
  ErrorManager err;
  unsigned char* buffer = nullptr;
  unsigned long size = 0;
  std::memset(&cinfo, 0, sizeof cinfo);
  cinfo.err = jpeg_std_error(&err.pub);
  err.pub.error_exit = ErrorExit;
  err.pub.emit_message = EmitMessage;
  if (setjmp(err.jump)) {
    jpeg_destroy_compress(&cinfo);
    std::free(buffer);
    return Status::Internal(std::string("JPEG encoding failed: ") + err.message);
  }
  jpeg_create_compress(&cinfo);
  jpeg_mem_dest(&cinfo, &buffer, &size);
  cinfo.image_width = static_cast<JDIMENSION>(raster.width);
  cinfo.image_height = static_cast<JDIMENSION>(raster.height);
  cinfo.input_components = raster.channels;
  cinfo.in_color_space = raster.channels == 1 ? JCS_GRAYSCALE : JCS_RGB;
  jpeg_set_defaults(&cinfo);
  jpeg_set_quality(&cinfo, options.quality < 1 ? 1 : (options.quality > 100 ? 100 : options.quality), TRUE);
  cinfo.optimize_coding = options.optimize_coding ? TRUE : FALSE;
  if (options.progressive) jpeg_simple_progression(&cinfo);
  jpeg_start_compress(&cinfo, TRUE);
  if (!options.icc.empty())
    jpeg_write_icc_profile(&cinfo, reinterpret_cast<const JOCTET*>(options.icc.data()), static_cast<unsigned>(options.icc.size()));
  while (cinfo.next_scanline < cinfo.image_height) {
    JSAMPROW row = const_cast<JSAMPROW>(raster.row(static_cast<int>(cinfo.next_scanline)));
    jpeg_write_scanlines(&cinfo, &row, 1);
  }
  jpeg_finish_compress(&cinfo);
  jpeg_destroy_compress(&cinfo);
  std::string out(reinterpret_cast<const char*>(buffer), size);
  std::free(buffer);
  return out;
}

}  // namespace tacc::workers::image
