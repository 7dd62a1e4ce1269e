// The preferences page TranSend's front end serves at /_tacc/prefs (issue 7; paper §2.3:
// users customize distillation through a web form, kept in the customization database).
//
// Preferences (all optional; empty: decide from the client's hints): quality (1-100),
// max_width (pixels), format (auto, jpeg, webp, avif), gray (0/1), distill (on/off:
// off passes everything untouched), keyword (text highlighted by a filter, up to 64).
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"
#include "tacc/profile.h"

namespace tacc::services {

inline constexpr std::string_view kPreferencesPath = "/_tacc/prefs";

// The HTML page: a form showing `profile`; `who` says whose profile it is; `note` is a
// line shown above the form ("saved"), or empty.
std::string RenderPreferencesPage(const tacc_layer::Profile& profile, std::string_view who, std::string_view note);

// The form's body (application/x-www-form-urlencoded) as a profile. InvalidArgument
// names the field that is wrong. Empty fields are left out (the hints decide).
// *remember: the "remember this browser" box was ticked (use a cookie, not the address).
Result<tacc_layer::Profile> ParsePreferencesForm(std::string_view body, bool* remember);

}  // namespace tacc::services
