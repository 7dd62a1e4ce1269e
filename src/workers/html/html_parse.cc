#include "workers/html/html_parse.h"

#include <fmt/format.h>

#include <charconv>
#include <cmath>
#include <csetjmp>
#include <cstdlib>

namespace tacc::workers::html {

// Every block gumbo holds, in one doubly linked list (a header before each block).
struct ParsedHtml::Arena {
  struct alignas(alignof(std::max_align_t)) Header {
    Header* prev;
    Header* next;
    size_t size;
  };
  Header* head = nullptr;
  size_t used = 0, limit = 0;
  std::chrono::steady_clock::time_point deadline;
  unsigned calls = 0;
  const char* why = nullptr;  // set before jumping out
  std::jmp_buf jump;

  void FreeAll() {
    while (head) {
      Header* next = head->next;
      std::free(head);
      head = next;
    }
    used = 0;
  }
};

namespace {

using Arena = ParsedHtml::Arena;

// Gumbo's allocator. Past a limit it never returns: gumbo does not check for null.
void* Allocate(void* userdata, size_t size) {
  auto* a = static_cast<Arena*>(userdata);
  if (size > a->limit || a->used > a->limit - size) {
    a->why = "memory";
    std::longjmp(a->jump, 1);
  }
  if ((++a->calls & 63) == 0 && std::chrono::steady_clock::now() > a->deadline) {
    a->why = "time";
    std::longjmp(a->jump, 1);
  }
  auto* h = static_cast<Arena::Header*>(std::malloc(sizeof(Arena::Header) + size));
  if (!h) {
    a->why = "memory (the system's)";
    std::longjmp(a->jump, 1);
  }
  h->prev = nullptr;
  h->next = a->head;
  h->size = size;
  if (a->head) a->head->prev = h;
  a->head = h;
  a->used += size;
  return h + 1;
}

void Deallocate(void* userdata, void* ptr) {
  if (!ptr) return;
  auto* a = static_cast<Arena*>(userdata);
  auto* h = static_cast<Arena::Header*>(ptr) - 1;
  if (h->prev) h->prev->next = h->next;
  else a->head = h->next;
  if (h->next) h->next->prev = h->prev;
  a->used -= h->size;
  std::free(h);
}

// The one place that jumps land: no object with a destructor lives in this frame.
GumboOutput* ParseOrJump(Arena* a, const GumboOptions* options, const char* data, size_t size) {
  if (setjmp(a->jump) != 0) return nullptr;
  return gumbo_parse_with_options(options, data, size);
}

}  // namespace

Result<std::unique_ptr<ParsedHtml>> ParsedHtml::Parse(std::string_view source, const ParseLimits& limits) {
  if (source.size() > limits.max_input_bytes)
    return Status::InvalidArgument(fmt::format("the page ({} bytes) is larger than max_input_mb", source.size()));
  std::unique_ptr<ParsedHtml> p(new ParsedHtml());
  p->source_ = source;
  p->arena_ = std::make_unique<Arena>();
  Arena* a = p->arena_.get();
  a->limit = limits.max_memory_bytes;
  a->deadline = std::chrono::steady_clock::now() + limits.max_time;
  GumboOptions options = kGumboDefaultOptions;
  options.allocator = &Allocate;
  options.deallocator = &Deallocate;
  options.userdata = a;
  options.max_errors = 0;  // errors are not read, and each one copies the open elements
  // A UTF-8 byte order mark is the decoder's, not the document's (browsers drop it;
  // gumbo would take it for text and imply a <body> before the doctype). Offsets stay
  // relative to `source`: gumbo gets a pointer into the same buffer.
  std::string_view text = source;
  if (text.starts_with("\xEF\xBB\xBF")) text.remove_prefix(3);
  // Gumbo wants a non-null buffer even when it is empty.
  static const char kEmpty[1] = {0};
  GumboOutput* out = ParseOrJump(a, &options, text.empty() ? kEmpty : text.data(), text.size());
  if (!out) {
    a->FreeAll();
    if (a->why && std::string_view(a->why) == "time")
      return Status::Overloaded(fmt::format("parsing took longer than {} ms (max_parse_ms)", limits.max_time.count()));
    return Status::Overloaded(fmt::format("parsing needed more than {} MB (max_parse_mb)", limits.max_memory_bytes >> 20));
  }
  p->output_ = out;
  return p;
}

ParsedHtml::~ParsedHtml() {
  if (arena_) arena_->FreeAll();  // the whole tree, with no recursion
}

Result<ParseLimits> ParseLimitsFromArgs(const std::map<std::string, std::string>& args, std::string_view worker, ParseLimits d) {
  auto number = [&](const char* name, double dflt, double lo, double hi) -> Result<double> {
    auto it = args.find(name);
    if (it == args.end()) return dflt;
    double v = 0;
    const std::string& s = it->second;
    auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || ptr != s.data() + s.size() || !std::isfinite(v) || v < lo || v > hi)
      return Status::InvalidArgument(fmt::format("{} worker: {} must be a number within {}..{}, not '{}'", worker, name, lo, hi, s));
    return v;
  };
  auto input = number("max_input_mb", static_cast<double>(d.max_input_bytes) / (1 << 20), 0.001, 1024);
  auto memory = number("max_parse_mb", static_cast<double>(d.max_memory_bytes) / (1 << 20), 1, 16384);
  auto ms = number("max_parse_ms", static_cast<double>(d.max_time.count()), 1, 600000);
  for (const auto* r : {&input, &memory, &ms})
    if (!r->ok()) return r->status();
  ParseLimits l;
  l.max_input_bytes = static_cast<size_t>(*input * (1 << 20));
  l.max_memory_bytes = static_cast<size_t>(*memory * (1 << 20));
  l.max_time = std::chrono::milliseconds(static_cast<int64_t>(*ms));
  return l;
}

}  // namespace tacc::workers::html
