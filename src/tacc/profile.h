// Profile: one user's preferences in the customization database (SNS paper §3.1).
//
// The TACC layer treats a profile as a small map of string keys to string values: the
// service decides what the keys mean (TranSend: image quality, toolbar on/off, ...), the
// TACC layer only stores it, caches it and ships it with every task so that any worker
// can serve any user. The profile database is the one ACID part of an otherwise BASE
// system (ARCHITECTURE.md, "BASE over ACID"); ProfileStore (profile_store.h) is its
// interface.
//
// Limits keep a profile small enough to travel with each task: Validate() refuses too
// many keys, long keys or values, and keys outside [a-z0-9_.-]. Values are arbitrary
// bytes (the serialization escapes them).
//
// Serialization is `k=v&k=v` with every byte outside [A-Za-z0-9_.~-] percent-encoded,
// keys in sorted order (so equal profiles serialize equally). ParseProfile() is given
// untrusted input (task arguments, database rows): it rejects anything the serializer
// would not produce, or a profile over the limits, with a Status, never a crash.
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"

namespace tacc::tacc_layer {

struct ProfileLimits {
  size_t max_keys = 64;
  size_t max_key_bytes = 64;
  size_t max_value_bytes = 1024;
};

// One user's preferences. A plain value type: copy it, compare it, move it into a task.
class Profile {
 public:
  using Map = std::map<std::string, std::string, std::less<>>;

  Profile() = default;
  explicit Profile(Map entries) : entries_(std::move(entries)) {}

  // The value of `key`, if set. The view lives as long as the entry is unchanged.
  std::optional<std::string_view> Get(std::string_view key) const;
  std::string_view GetOr(std::string_view key, std::string_view fallback) const;
  // Sets or replaces `key`. No check here: Validate() before storing or sending.
  void Set(std::string key, std::string value);
  // True if `key` was set.
  bool Erase(std::string_view key);

  const Map& entries() const { return entries_; }
  size_t size() const { return entries_.size(); }
  bool empty() const { return entries_.empty(); }

  friend bool operator==(const Profile&, const Profile&) = default;

 private:
  Map entries_;
};

// Ok, or InvalidArgument naming the first key that breaks a limit.
Status Validate(const Profile& profile, const ProfileLimits& limits);

// True if `key` is non-empty and only uses [a-z0-9_.-] (length is a limit, not checked).
bool IsValidProfileKey(std::string_view key);

// `k=v&k=v`, percent-encoded; the empty profile is the empty string.
std::string SerializeProfile(const Profile& profile);

// The inverse of SerializeProfile for untrusted input: InvalidArgument for malformed
// text (bad escapes, raw bytes the serializer escapes, a pair without '=', a duplicate
// key) or a profile that fails Validate(limits).
Result<Profile> ParseProfile(std::string_view text, const ProfileLimits& limits);

}  // namespace tacc::tacc_layer
