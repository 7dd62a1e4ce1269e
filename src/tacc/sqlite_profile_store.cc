#include "tacc/sqlite_profile_store.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <exception>
#include <thread>
#include <utility>

namespace tacc::tacc_layer {

namespace asio = boost::asio;

namespace {

// Runs fn() on `pool` and completes the awaiting coroutine with its result on the
// coroutine's own executor (posting, not dispatching: we are on the pool's thread then).
// Hand-written rather than co_spawn(pool, ...): co_spawn needs a default-constructible
// result, and Result<T> deliberately has none. fn must not throw (it is wrapped anyway).
template <typename T, typename Fn>
asio::awaitable<T> RunOn(asio::thread_pool& pool, Fn fn) {
  auto initiation = [&pool](auto handler, Fn fn) {
    auto work = asio::make_work_guard(asio::get_associated_executor(handler));
    asio::post(pool, [handler = std::move(handler), work = std::move(work), fn = std::move(fn)]() mutable {
      std::optional<T> result;
      try {
        result.emplace(fn());
      } catch (const std::exception& e) {
        result.emplace(Status::Internal(std::string("profile store: ") + e.what()));
      } catch (...) {
        result.emplace(Status::Internal("profile store: unknown exception"));
      }
      auto ex = work.get_executor();
      asio::post(ex, [handler = std::move(handler), result = std::move(*result)]() mutable { std::move(handler)(std::move(result)); });
      work.reset();
    });
  };
  return asio::async_initiate<const asio::use_awaitable_t<>, void(T)>(std::move(initiation), asio::use_awaitable, std::move(fn));
}

// Kind of a failed SQLite call: Unavailable where waiting or the operator can help (busy,
// locked, permissions, disk), Internal for everything else (corrupt, not a database, bugs).
ErrorKind KindOf(int rc) {
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_CANTOPEN:
    case SQLITE_PERM:
    case SQLITE_READONLY:
    case SQLITE_IOERR:
    case SQLITE_FULL:
    case SQLITE_AUTH:
    case SQLITE_NOLFS:
    case SQLITE_PROTOCOL:
      return ErrorKind::kUnavailable;
    default:
      return ErrorKind::kInternal;
  }
}

// "profile store /var/lib/tacc/profiles.db: reading a profile: file is not a database (SQLITE_NOTADB 26)"
Status SqliteError(sqlite3* db, int rc, const std::string& path, std::string_view what) {
  std::string m = "profile store " + path + ": " + std::string(what) + ": ";
  const char* detail = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  m += detail != nullptr ? detail : "unknown error";
  m += " (sqlite code " + std::to_string(rc) + ")";
  return Status(KindOf(rc), std::move(m));
}

struct StmtDeleter {
  void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};
using Stmt = std::unique_ptr<sqlite3_stmt, StmtDeleter>;

// Resets a prepared statement when a use of it ends, so that it holds no read snapshot
// or lock between calls (a WAL reader left open would pin the log).
class StmtUse {
 public:
  explicit StmtUse(sqlite3_stmt* s) : s_(s) {}
  ~StmtUse() {
    sqlite3_reset(s_);
    sqlite3_clear_bindings(s_);
  }
  StmtUse(const StmtUse&) = delete;
  StmtUse& operator=(const StmtUse&) = delete;

 private:
  sqlite3_stmt* s_;
};

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace

struct SqliteProfileStore::Db {
  sqlite3* conn = nullptr;
  Stmt get, put, erase;

  Db() = default;
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;
  ~Db() {
    get.reset();
    put.reset();
    erase.reset();
    if (conn != nullptr) sqlite3_close_v2(conn);
  }

  Status Exec(const std::string& path, const char* sql, std::string_view what) {
    int rc = sqlite3_exec(conn, sql, nullptr, nullptr, nullptr);
    return rc == SQLITE_OK ? Status::Ok() : SqliteError(conn, rc, path, what);
  }

  Status Prepare(const std::string& path, const char* sql, Stmt& out, std::string_view what) {
    sqlite3_stmt* s = nullptr;
    int rc = sqlite3_prepare_v3(conn, sql, -1, SQLITE_PREPARE_PERSISTENT, &s, nullptr);
    out.reset(s);
    return rc == SQLITE_OK ? Status::Ok() : SqliteError(conn, rc, path, what);
  }

  Status EnsureSchema(const std::string& path);

  // One integer (or nullopt if no row) from `sql`.
  Result<std::optional<int64_t>> QueryInt(const std::string& path, const char* sql, std::string_view what) {
    Stmt s;
    if (Status st = Prepare(path, sql, s, what); !st.ok()) return st;
    int rc = sqlite3_step(s.get());
    if (rc == SQLITE_ROW) return std::optional<int64_t>(sqlite3_column_int64(s.get(), 0));
    if (rc == SQLITE_DONE) return std::optional<int64_t>();
    return SqliteError(conn, rc, path, what);
  }
};

// The schema in one transaction (BEGIN IMMEDIATE: two front ends starting together must
// not both create it). Refuses a database that is not ours or is of a newer schema.
Status SqliteProfileStore::Db::EnsureSchema(const std::string& path) {
  Db& db = *this;
  if (Status s = db.Exec(path, "BEGIN IMMEDIATE", "starting the schema transaction"); !s.ok()) return s;
  auto fail = [&](Status s) {
    sqlite3_exec(db.conn, "ROLLBACK", nullptr, nullptr, nullptr);
    return s;
  };
  auto has_version_table =
      db.QueryInt(path, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'", "reading the schema");
  if (!has_version_table.ok()) return fail(has_version_table.status());
  if (!has_version_table->has_value()) {
    auto other = db.QueryInt(path, "SELECT count(*) FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'", "reading the schema");
    if (!other.ok()) return fail(other.status());
    if (other->value_or(0) > 0) {
      return fail(Status::Internal("profile store " + path + ": an SQLite database of another application (no schema_version table)"));
    }
    Status s = db.Exec(path,
                       "CREATE TABLE schema_version(version INTEGER NOT NULL);"
                       "INSERT INTO schema_version(version) VALUES (1);"
                       "CREATE TABLE profiles(token TEXT PRIMARY KEY NOT NULL, data TEXT NOT NULL, updated_ms INTEGER NOT NULL)"
                       " WITHOUT ROWID;",
                       "creating the schema");
    if (!s.ok()) return fail(s);
  } else {
    auto version = db.QueryInt(path, "SELECT max(version) FROM schema_version", "reading the schema version");
    if (!version.ok()) return fail(version.status());
    int64_t v = version->value_or(0);
    if (v != SqliteProfileStore::kSchemaVersion) {
      return fail(Status::Internal("profile store " + path + ": schema version " + std::to_string(v) + ", this tacc knows only version " +
                                   std::to_string(SqliteProfileStore::kSchemaVersion) +
                                   (v > SqliteProfileStore::kSchemaVersion ? " (written by a newer tacc?)" : "")));
    }
  }
  return db.Exec(path, "COMMIT", "committing the schema");
}

Result<std::unique_ptr<SqliteProfileStore>> SqliteProfileStore::Open(const std::string& path) {
  return Open(path, SqliteProfileStoreOptions{});
}

Result<std::unique_ptr<SqliteProfileStore>> SqliteProfileStore::Open(const std::string& path, SqliteProfileStoreOptions options) {
  if (path.empty()) return Status::InvalidArgument("profile store: empty database path");
  // Create the file ourselves: SQLite would create it 0644 (less the umask), and the
  // profiles are per-user data. An existing file keeps its mode.
  // O_NONBLOCK: a FIFO at the path must not hang start-up.
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOCTTY | O_NONBLOCK, 0600);
  if (fd < 0) {
    int err = errno;
    return Status::Unavailable("profile store " + path + ": cannot create or open the file for writing: " + std::strerror(err));
  }
  struct stat st {};
  bool regular = ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
  ::close(fd);
  if (!regular) return Status::Unavailable("profile store " + path + ": not a regular file");

  auto db = std::make_unique<Db>();
  // NOMUTEX: only the store's worker thread uses the connection after Open. EXRESCODE:
  // extended error codes (e.g. SQLITE_IOERR_FSYNC) in the messages.
  int rc = sqlite3_open_v2(path.c_str(), &db->conn, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE, nullptr);
  if (rc != SQLITE_OK) return SqliteError(db->conn, rc, path, "opening");
  sqlite3_busy_timeout(db->conn, options.busy_timeout_ms);

  // The first statement reads the file: this is where a garbage file is found out.
  // SQLite answers SQLITE_BUSY to a journal-mode change at once, without calling the
  // busy handler, while another connection (another front end opening the same new file)
  // holds a lock: so the switch is retried here, for as long as busy_timeout_ms.
  auto mode = [&]() -> Result<std::string> {
    Stmt s;
    if (Status st = db->Prepare(path, "PRAGMA journal_mode=WAL", s, "reading the database"); !st.ok()) return st;
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::milliseconds(options.busy_timeout_ms);
    for (;;) {
      int step = sqlite3_step(s.get());
      if (step == SQLITE_ROW) {
        const unsigned char* text = sqlite3_column_text(s.get(), 0);
        return std::string(text != nullptr ? reinterpret_cast<const char*>(text) : "");
      }
      if ((step & 0xff) != SQLITE_BUSY || std::chrono::steady_clock::now() >= give_up) return SqliteError(db->conn, step, path, "switching to WAL mode");
      sqlite3_reset(s.get());
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }();
  if (!mode.ok()) return mode.status();
  if (*mode != "wal") return Status::Unavailable("profile store " + path + ": cannot use WAL mode (journal mode stays '" + *mode + "')");
  // FULL: a commit is on disk (WAL fsynced) before Put says Ok: the one ACID part of tacc.
  if (Status s = db->Exec(path, "PRAGMA synchronous=FULL", "setting synchronous=FULL"); !s.ok()) return s;
  if (Status s = db->EnsureSchema(path); !s.ok()) return s;

  if (Status s = db->Prepare(path, "SELECT data FROM profiles WHERE token = ?1", db->get, "preparing statements"); !s.ok()) return s;
  if (Status s = db->Prepare(path,
                             "INSERT INTO profiles(token, data, updated_ms) VALUES (?1, ?2, ?3)"
                             " ON CONFLICT(token) DO UPDATE SET data = excluded.data, updated_ms = excluded.updated_ms",
                             db->put, "preparing statements");
      !s.ok()) {
    return s;
  }
  if (Status s = db->Prepare(path, "DELETE FROM profiles WHERE token = ?1", db->erase, "preparing statements"); !s.ok()) return s;
  return std::unique_ptr<SqliteProfileStore>(new SqliteProfileStore(path, options, std::move(db)));
}

SqliteProfileStore::SqliteProfileStore(std::string path, SqliteProfileStoreOptions options, std::unique_ptr<Db> db)
    : path_(std::move(path)), options_(options), db_(std::move(db)) {}

SqliteProfileStore::~SqliteProfileStore() {
  worker_.join();  // finishes the calls already queued (no stop(): their callers get answers)
}

// Not coroutines: GCC 12 mis-compiles a lambda that init-captures a coroutine's
// parameter. Validation runs on the worker thread too; it is cheap.
asio::awaitable<Result<std::optional<Profile>>> SqliteProfileStore::Get(std::string token) {
  return RunOn<Result<std::optional<Profile>>>(worker_, [this, token = std::move(token)]() -> Result<std::optional<Profile>> {
    if (Status s = ValidateProfileToken(token); !s.ok()) return s;
    return GetNow(token);
  });
}

asio::awaitable<Status> SqliteProfileStore::Put(std::string token, Profile profile) {
  return RunOn<Status>(worker_, [this, token = std::move(token), profile = std::move(profile)] {
    if (Status s = ValidateProfileToken(token); !s.ok()) return s;
    if (Status s = Validate(profile, options_.limits); !s.ok()) return s;
    return PutNow(token, SerializeProfile(profile));
  });
}

asio::awaitable<Status> SqliteProfileStore::Erase(std::string token) {
  return RunOn<Status>(worker_, [this, token = std::move(token)] {
    if (Status s = ValidateProfileToken(token); !s.ok()) return s;
    return EraseNow(token);
  });
}

Result<std::optional<Profile>> SqliteProfileStore::GetNow(const std::string& token) {
  sqlite3_stmt* s = db_->get.get();
  StmtUse use(s);
  sqlite3_bind_text(s, 1, token.data(), static_cast<int>(token.size()), SQLITE_STATIC);
  int rc = sqlite3_step(s);
  if (rc == SQLITE_DONE) return std::optional<Profile>();
  if (rc != SQLITE_ROW) return SqliteError(db_->conn, rc, path_, "reading a profile");
  const auto* data = reinterpret_cast<const char*>(sqlite3_column_text(s, 0));
  int bytes = sqlite3_column_bytes(s, 0);
  auto profile =
      ParseProfile(std::string_view(data != nullptr ? data : "", data != nullptr ? static_cast<size_t>(bytes) : 0), options_.limits);
  if (!profile.ok()) {
    return Status::Internal("profile store " + path_ + ": stored profile of token '" + token +
                            "' is corrupt: " + profile.status().message());
  }
  return std::optional<Profile>(std::move(*profile));
}

Status SqliteProfileStore::PutNow(const std::string& token, const std::string& data) {
  sqlite3_stmt* s = db_->put.get();
  StmtUse use(s);
  sqlite3_bind_text(s, 1, token.data(), static_cast<int>(token.size()), SQLITE_STATIC);
  sqlite3_bind_text(s, 2, data.data(), static_cast<int>(data.size()), SQLITE_STATIC);
  sqlite3_bind_int64(s, 3, NowMs());
  int rc = sqlite3_step(s);
  return rc == SQLITE_DONE ? Status::Ok() : SqliteError(db_->conn, rc, path_, "writing a profile");
}

Status SqliteProfileStore::EraseNow(const std::string& token) {
  sqlite3_stmt* s = db_->erase.get();
  StmtUse use(s);
  sqlite3_bind_text(s, 1, token.data(), static_cast<int>(token.size()), SQLITE_STATIC);
  int rc = sqlite3_step(s);
  return rc == SQLITE_DONE ? Status::Ok() : SqliteError(db_->conn, rc, path_, "erasing a profile");
}

}  // namespace tacc::tacc_layer
