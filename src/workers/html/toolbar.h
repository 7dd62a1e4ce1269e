// The toolbar the HTML munger puts at the top of each page's body (issue 8; paper §2.3:
// users change their distillation preferences from the pages themselves): a small fixed
// bar with a link to the preferences page and a form that POSTs quick choices (image
// quality, gray) to it, carrying the user's other preferences along in hidden fields
// (the form replaces the whole profile: ParsePreferencesForm in
// services/transend/preferences_page.h reads the same field names).
//
// Elements have ids for tests and browsers: tacc-toolbar, tacc-prefs-link,
// tacc-toolbar-form, tacc-quality, tacc-gray, tacc-apply. ASCII only.
#pragma once

#include <map>
#include <string>

namespace tacc::workers::html {

// The preferences a page is munged for: the profile's entries, as the preferences page
// stores them (each may be empty: the client's hints decide).
struct PagePreferences {
  std::string quality, max_width, gray, format, keyword, distill;
  static PagePreferences FromProfile(const std::map<std::string, std::string>& profile);
};

std::string RenderToolbar(const PagePreferences& prefs);

}  // namespace tacc::workers::html
