// ProfileStore: the customization database of the TACC layer (SNS paper §3.1: "the
// customization database"; ARCHITECTURE.md, Profiles).
//
// Maps a user token (user_token.h: a cookie, else the client's address) to that user's
// Profile. It is the one ACID component of the system: everything else is BASE soft
// state rebuilt from messages, but a user's preferences must survive any crash. Front
// ends read it through a CachedProfileStore and send the profile with every task.
//
// Every method is asynchronous: a front end's event loop must never block on disk or
// on a database server. Implementations:
//   - SqliteProfileStore (sqlite_profile_store.h): the embedded default (`tacc up`, one
//     host, several front ends sharing one file);
//   - CachedProfileStore (cached_profile_store.h): a read-through/write-through cache
//     wrapped around any other store;
//   - PostgreSQL, for a cluster of hosts, is meant to slot in later behind this same
//     interface (nothing here assumes a local file or a single writer).
//
// Tokens are opaque to the store: any 1..kMaxProfileTokenBytes printable ASCII bytes.
// Errors: InvalidArgument (bad token or profile over the store's limits), Unavailable
// (database busy, unreachable or disk error: the caller serves defaults), Internal (a
// stored profile is corrupt, or an unexpected failure).
//
// Lifetime: a store must outlive every call on it that has not completed.
#pragma once

#include <boost/asio/awaitable.hpp>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"
#include "tacc/profile.h"

namespace tacc::tacc_layer {

inline constexpr size_t kMaxProfileTokenBytes = 256;

// Ok if `token` is 1..kMaxProfileTokenBytes bytes of printable ASCII (0x21..0x7e).
Status ValidateProfileToken(std::string_view token);

class ProfileStore {
 public:
  virtual ~ProfileStore() = default;

  // The profile stored for `token`, or nullopt if the user has none.
  virtual boost::asio::awaitable<Result<std::optional<Profile>>> Get(std::string token) = 0;
  // Stores `profile` for `token`, replacing any previous one; durable once Ok.
  virtual boost::asio::awaitable<Status> Put(std::string token, Profile profile) = 0;
  // Removes the profile of `token`; Ok also if there was none.
  virtual boost::asio::awaitable<Status> Erase(std::string token) = 0;
};

}  // namespace tacc::tacc_layer
