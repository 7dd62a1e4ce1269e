// Escaping for the text the HTML workers insert into pages (issue 8). The output is
// ASCII only, whatever the input: a page in any charset reads it the same, and nothing
// inserted can close a tag or an attribute value early.
#pragma once

#include <string>
#include <string_view>

namespace tacc::workers::html {

// & < > " ' as references; other ASCII as is, except control characters (dropped);
// UTF-8 characters as numeric references (&#xE9;); bytes that are not UTF-8 as &#xFFFD;.
std::string EscapeHtml(std::string_view text);

}  // namespace tacc::workers::html
