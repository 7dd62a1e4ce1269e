// SqliteProfileStore: the embedded customization database (SNS paper §3.1), a
// ProfileStore in one SQLite file.
//
// The default for one host: `tacc up` and every front end on the host open the same file
// (each its own connection; WAL mode lets readers and the writer proceed together, and a
// write committed by one front end is seen by the next read of any other). This is the
// one ACID part of tacc ("BASE over ACID"): synchronous=FULL makes each Put durable
// before it reports Ok. A cluster of hosts uses a PostgreSQL store behind the same
// interface instead.
//
// SQLite calls block, so they run on a worker thread owned by the store; each method
// resumes the awaiting coroutine on that coroutine's own executor. Calls are served in
// the order they were made. Open() itself blocks: call it at start-up, before serving.
//
// Files: the database is created with mode 0600 (it holds per-user data), and SQLite
// gives its -wal and -shm files the same mode; every descriptor is close-on-exec, so
// spawned workers inherit none. Schema: a `schema_version` table (version 1) and
// `profiles(token TEXT PRIMARY KEY, data TEXT, updated_ms INTEGER)`, `data` being
// SerializeProfile() text. A file of a newer schema, another application's database or
// a file that is not a database is refused by Open with a Status naming the path.
//
// Thread safety: the methods may be called from any thread. Ownership: the caller owns
// the store; it must outlive every call that has not completed, and be destroyed before
// the event loops of callers still waiting on it (the destructor waits for the calls in
// flight on the worker thread, then closes the database).
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/thread_pool.hpp>

#include <memory>
#include <optional>
#include <string>

#include "common/status.h"
#include "tacc/profile.h"
#include "tacc/profile_store.h"

namespace tacc::tacc_layer {

struct SqliteProfileStoreOptions {
  ProfileLimits limits;        // Put refuses profiles over these; Get refuses stored ones over them
  int busy_timeout_ms = 5000;  // wait this long for another front end's write lock, then Unavailable
};

class SqliteProfileStore final : public ProfileStore {
 public:
  static constexpr int kSchemaVersion = 1;

  // Opens the database at `path`, creating the file (mode 0600; the directory must exist)
  // and the schema if needed. Errors name the path: Unavailable (cannot create or open,
  // read-only, locked for longer than busy_timeout_ms), Internal (not a database, not a
  // tacc profile database, corrupt, newer schema).
  static Result<std::unique_ptr<SqliteProfileStore>> Open(const std::string& path, SqliteProfileStoreOptions options);
  static Result<std::unique_ptr<SqliteProfileStore>> Open(const std::string& path);

  ~SqliteProfileStore() override;
  SqliteProfileStore(const SqliteProfileStore&) = delete;
  SqliteProfileStore& operator=(const SqliteProfileStore&) = delete;

  boost::asio::awaitable<Result<std::optional<Profile>>> Get(std::string token) override;
  boost::asio::awaitable<Status> Put(std::string token, Profile profile) override;
  boost::asio::awaitable<Status> Erase(std::string token) override;

  const std::string& path() const { return path_; }

 private:
  struct Db;  // the connection and its prepared statements; used on worker_ only
  SqliteProfileStore(std::string path, SqliteProfileStoreOptions options, std::unique_ptr<Db> db);

  // The blocking halves, run on worker_.
  Result<std::optional<Profile>> GetNow(const std::string& token);
  Status PutNow(const std::string& token, const std::string& data);
  Status EraseNow(const std::string& token);

  std::string path_;
  SqliteProfileStoreOptions options_;
  std::unique_ptr<Db> db_;
  boost::asio::thread_pool worker_{1};  // one thread: the connection is never used concurrently
};

}  // namespace tacc::tacc_layer
