// What the HTML workers (issue 8) may do to a page in a given charset. Both work on the
// page's bytes as they are (no transcoding) and find markup with gumbo, which reads
// UTF-8: right for every charset where an ASCII byte always is that ASCII character
// (UTF-8, Latin-1, windows-125x, EUC-*, KOI8...). Known exceptions, from the Content-Type
// charset parameter or a UTF-16 byte order mark (a <meta charset> is not read):
//   * UTF-16/32, UTF-7, ISO-2022-*: ASCII bytes are not ASCII characters; not touched.
//   * Shift_JIS, Big5, GBK/GB18030: a character's second byte may be an ASCII letter, so
//     a keyword could match half a character; '<', '>', '"' never are such a byte, so
//     tags are found right. The munger works; the keyword filter does not.
#pragma once

#include <string>
#include <string_view>

namespace tacc::workers::html {

enum class CharsetFit {
  kAscii,     // anything
  kTagsOnly,  // insertions at tags only (the munger)
  kNone,      // nothing: pass the page as it came
};

// The charset parameter of `mime_type`, lower case, unquoted; empty if none.
std::string CharsetOf(std::string_view mime_type);

CharsetFit ClassifyCharset(std::string_view mime_type, std::string_view body);

}  // namespace tacc::workers::html
