#include "tacc/sqlite_profile_store.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include "async_test_util.h"

namespace tacc::tacc_layer {
namespace {

namespace asio = boost::asio;
namespace fs = std::filesystem;
using tacc::testing::RunCoroutine;

// A fresh directory per test, removed afterwards.
class SqliteProfileStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "tacc-profile-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    path_ = (dir_ / "profiles.db").string();
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  std::unique_ptr<SqliteProfileStore> OpenOk() { return OpenOk(path_); }
  std::unique_ptr<SqliteProfileStore> OpenOk(const std::string& path) {
    auto s = SqliteProfileStore::Open(path);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? std::move(*s) : nullptr;
  }

  // Runs raw SQL on the file, as another program would.
  void Sql(const std::string& sql) {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
    char* err = nullptr;
    EXPECT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err), SQLITE_OK) << (err ? err : "");
    sqlite3_free(err);
    sqlite3_close(db);
  }

  static Profile Prefs(const std::string& quality) {
    Profile p;
    p.Set("image.quality", quality);
    p.Set("toolbar", "on");
    return p;
  }

  asio::io_context io_;
  fs::path dir_;
  std::string path_;
};

TEST_F(SqliteProfileStoreTest, PutGetErase) {
  auto store = OpenOk();
  ASSERT_TRUE(store);
  RunCoroutine(io_, [&]() -> asio::awaitable<void> {
    auto none = co_await store->Get(std::string("u1"));
    CO_ASSERT_TRUE(none.ok());
    EXPECT_FALSE(none->has_value());

    Status put = co_await store->Put(std::string("u1"), Prefs("30"));
    EXPECT_TRUE(put.ok()) << put.ToString();
    auto got = co_await store->Get(std::string("u1"));
    CO_ASSERT_TRUE(got.ok() && got->has_value());
    EXPECT_EQ(**got, Prefs("30"));

    EXPECT_TRUE((co_await store->Put(std::string("u1"), Prefs("50"))).ok());
    got = co_await store->Get(std::string("u1"));
    CO_ASSERT_TRUE(got.ok() && got->has_value());
    EXPECT_EQ(**got, Prefs("50"));

    EXPECT_TRUE((co_await store->Put(std::string("u1"), Profile{})).ok());  // empty is a profile
    got = co_await store->Get(std::string("u1"));
    CO_ASSERT_TRUE(got.ok() && got->has_value());
    EXPECT_TRUE((*got)->empty());

    EXPECT_TRUE((co_await store->Erase(std::string("u1"))).ok());
    EXPECT_TRUE((co_await store->Erase(std::string("u1"))).ok());  // erasing nothing is fine
    got = co_await store->Get(std::string("u1"));
    CO_ASSERT_TRUE(got.ok());
    EXPECT_FALSE(got->has_value());
  });
}

TEST_F(SqliteProfileStoreTest, ResumesOnTheCallersThread) {
  auto store = OpenOk();
  ASSERT_TRUE(store);
  auto me = std::this_thread::get_id();
  RunCoroutine(io_, [&]() -> asio::awaitable<void> {
    EXPECT_TRUE((co_await store->Put(std::string("u"), Prefs("1"))).ok());
    EXPECT_EQ(std::this_thread::get_id(), me);
    auto got = co_await store->Get(std::string("u"));
    EXPECT_EQ(std::this_thread::get_id(), me);
    EXPECT_TRUE(got.ok());
    EXPECT_TRUE((co_await store->Erase(std::string("u"))).ok());
    EXPECT_EQ(std::this_thread::get_id(), me);
  });
}

TEST_F(SqliteProfileStoreTest, RefusesBadTokensAndOversizeProfiles) {
  auto store = OpenOk();
  ASSERT_TRUE(store);
  RunCoroutine(io_, [&]() -> asio::awaitable<void> {
    EXPECT_EQ((co_await store->Put(std::string(""), Prefs("1"))).kind(), ErrorKind::kInvalidArgument);
    EXPECT_EQ((co_await store->Put(std::string("a b"), Prefs("1"))).kind(), ErrorKind::kInvalidArgument);
    EXPECT_EQ((co_await store->Put(std::string(300, 'a'), Prefs("1"))).kind(), ErrorKind::kInvalidArgument);
    EXPECT_EQ((co_await store->Get(std::string("a\nb"))).status().kind(), ErrorKind::kInvalidArgument);
    Profile big;
    big.Set("k", std::string(2000, 'v'));
    EXPECT_EQ((co_await store->Put(std::string("u"), big)).kind(), ErrorKind::kInvalidArgument);
    Profile bad_key;
    bad_key.Set("Bad Key", "v");
    EXPECT_EQ((co_await store->Put(std::string("u"), bad_key)).kind(), ErrorKind::kInvalidArgument);
    auto got = co_await store->Get(std::string("u"));
    CO_ASSERT_TRUE(got.ok());
    EXPECT_FALSE(got->has_value());  // nothing refused was written
  });
}

TEST_F(SqliteProfileStoreTest, PersistsAcrossReopen) {
  {
    auto store = OpenOk();
    ASSERT_TRUE(store);
    RunCoroutine(io_,
                 [&]() -> asio::awaitable<void> { EXPECT_TRUE((co_await store->Put(std::string("addr:10.0.0.1"), Prefs("25"))).ok()); });
  }
  auto store = OpenOk();
  ASSERT_TRUE(store);
  RunCoroutine(io_, [&]() -> asio::awaitable<void> {
    auto got = co_await store->Get(std::string("addr:10.0.0.1"));
    CO_ASSERT_TRUE(got.ok() && got->has_value());
    EXPECT_EQ(**got, Prefs("25"));
  });
}

TEST_F(SqliteProfileStoreTest, TwoStoresOnOneFileSeeEachOthersWrites) {
  auto a = OpenOk();
  auto b = OpenOk();
  ASSERT_TRUE(a && b);
  RunCoroutine(io_, [&]() -> asio::awaitable<void> {
    EXPECT_TRUE((co_await a->Put(std::string("u"), Prefs("10"))).ok());
    auto seen = co_await b->Get(std::string("u"));
    CO_ASSERT_TRUE(seen.ok() && seen->has_value());
    EXPECT_EQ(**seen, Prefs("10"));
    EXPECT_TRUE((co_await b->Put(std::string("u"), Prefs("90"))).ok());
    seen = co_await a->Get(std::string("u"));
    CO_ASSERT_TRUE(seen.ok() && seen->has_value());
    EXPECT_EQ(**seen, Prefs("90"));
    EXPECT_TRUE((co_await b->Erase(std::string("u"))).ok());
    seen = co_await a->Get(std::string("u"));
    CO_ASSERT_TRUE(seen.ok());
    EXPECT_FALSE(seen->has_value());
  });
}

TEST_F(SqliteProfileStoreTest, ManyConcurrentCallsAllComplete) {
  auto a = OpenOk();
  auto b = OpenOk();
  ASSERT_TRUE(a && b);
  int done = 0;
  static constexpr int kUsers = 50;
  RunCoroutine(
      io_,
      [&]() -> asio::awaitable<void> {
        tacc::testing::Event all(io_.get_executor());
        for (int i = 0; i < kUsers; ++i) {
          SqliteProfileStore* store = i % 2 ? a.get() : b.get();
          asio::co_spawn(
              io_,
              [store, i, &done, &all]() -> asio::awaitable<void> {
                std::string token = "u" + std::to_string(i);
                Status s = co_await store->Put(token, Prefs(std::to_string(i)));
                EXPECT_TRUE(s.ok()) << s.ToString();
                if (++done == kUsers) all.Set();
              },
              asio::detached);
        }
        EXPECT_TRUE(co_await all.Wait(std::chrono::milliseconds(10000)));
        for (int i = 0; i < kUsers; ++i) {
          auto got = co_await a->Get("u" + std::to_string(i));
          CO_ASSERT_TRUE(got.ok() && got->has_value());
          EXPECT_EQ(**got, Prefs(std::to_string(i)));
        }
      },
      std::chrono::milliseconds(15000));
  EXPECT_EQ(done, kUsers);
}

// Front ends started together (`tacc up` with frontend.count > 1) open one new file at
// the same moment: the switch to WAL and the schema must wait for each other, not fail
// with "database is locked" (a regression: the WAL switch gave up at once).
TEST_F(SqliteProfileStoreTest, StoresOpeningOneNewFileTogetherAllSucceed) {
  constexpr int kRounds = 20, kOpeners = 6;
  for (int round = 0; round < kRounds; ++round) {
    std::string path = (dir_ / ("race-" + std::to_string(round) + ".db")).string();
    std::vector<std::string> errors(kOpeners);
    std::atomic<int> ready{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < kOpeners; ++i) {
      threads.emplace_back([&, i] {
        ++ready;
        while (ready.load() < kOpeners) std::this_thread::yield();
        auto s = SqliteProfileStore::Open(path);
        if (!s.ok()) errors[i] = s.status().ToString();
      });
    }
    for (auto& t : threads) t.join();
    for (int i = 0; i < kOpeners; ++i) ASSERT_EQ(errors[i], "") << "round " << round << ", opener " << i;
  }
}

TEST_F(SqliteProfileStoreTest, CreatesTheFileOwnerOnly) {
  auto store = OpenOk();
  ASSERT_TRUE(store);
  RunCoroutine(io_, [&]() -> asio::awaitable<void> { EXPECT_TRUE((co_await store->Put(std::string("u"), Prefs("1"))).ok()); });
  for (const char* suffix : {"", "-wal", "-shm"}) {
    struct stat st {};
    std::string p = path_ + suffix;
    ASSERT_EQ(::stat(p.c_str(), &st), 0) << p;
    EXPECT_EQ(st.st_mode & 0777, 0600u) << p;
  }
}

TEST_F(SqliteProfileStoreTest, EveryDescriptorIsCloseOnExec) {
  auto a = OpenOk();
  auto b = OpenOk();
  ASSERT_TRUE(a && b);
  RunCoroutine(io_, [&]() -> asio::awaitable<void> {
    EXPECT_TRUE((co_await a->Put(std::string("u"), Prefs("1"))).ok());
    auto got = co_await b->Get(std::string("u"));
    EXPECT_TRUE(got.ok());
  });
  int ours = 0;
  for (const auto& entry : fs::directory_iterator("/proc/self/fd")) {
    std::error_code ec;
    fs::path target = fs::read_symlink(entry.path(), ec);
    if (ec || target.string().rfind(dir_.string(), 0) != 0) continue;
    ++ours;
    int fd = std::stoi(entry.path().filename().string());
    int flags = ::fcntl(fd, F_GETFD);
    EXPECT_NE(flags, -1);
    EXPECT_TRUE(flags & FD_CLOEXEC) << target << " (fd " << fd << ") is inherited by children";
  }
  EXPECT_GE(ours, 3) << "expected the database, -wal and -shm files open";
}

TEST_F(SqliteProfileStoreTest, GarbageFileIsAClearError) {
  {
    std::ofstream f(path_, std::ios::binary);
    for (int i = 0; i < 512; ++i) f << "this is not an SQLite database, just text. ";
  }
  auto s = SqliteProfileStore::Open(path_);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find(path_), std::string::npos) << s.status().ToString();
  EXPECT_NE(s.status().message().find("not a database"), std::string::npos) << s.status().ToString();
}

TEST_F(SqliteProfileStoreTest, MissingDirectoryIsAClearError) {
  std::string path = (dir_ / "no-such-dir" / "profiles.db").string();
  auto s = SqliteProfileStore::Open(path);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().kind(), ErrorKind::kUnavailable);
  EXPECT_NE(s.status().message().find(path), std::string::npos) << s.status().ToString();
}

TEST_F(SqliteProfileStoreTest, DirectoryAsPathIsAClearError) {
  auto s = SqliteProfileStore::Open(dir_.string());
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find(dir_.string()), std::string::npos) << s.status().ToString();
}

TEST_F(SqliteProfileStoreTest, FifoAsPathIsAnErrorNotAHang) {
  ASSERT_EQ(::mkfifo(path_.c_str(), 0600), 0);
  auto s = SqliteProfileStore::Open(path_);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("not a regular file"), std::string::npos) << s.status().ToString();
}

TEST_F(SqliteProfileStoreTest, UnwritableDirectoryIsAClearError) {
  if (::geteuid() == 0) GTEST_SKIP() << "root ignores directory permissions (the next test runs as root too)";
  fs::path ro = dir_ / "ro";
  fs::create_directory(ro);
  fs::permissions(ro, fs::perms::owner_read | fs::perms::owner_exec);
  std::string path = (ro / "profiles.db").string();
  auto s = SqliteProfileStore::Open(path);
  fs::permissions(ro, fs::perms::owner_all);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().kind(), ErrorKind::kUnavailable);
  EXPECT_NE(s.status().message().find(path), std::string::npos) << s.status().ToString();
}

// The same failure for any user, root included: the "directory" is a regular file.
TEST_F(SqliteProfileStoreTest, ADirectoryThatIsAFileIsAClearError) {
  fs::path file = dir_ / "not-a-dir";
  { std::ofstream(file) << "x"; }
  std::string path = (file / "profiles.db").string();
  auto s = SqliteProfileStore::Open(path);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().kind(), ErrorKind::kUnavailable);
  EXPECT_NE(s.status().message().find(path), std::string::npos) << s.status().ToString();
  EXPECT_EQ(fs::file_size(file), 1u) << "the file in the way was changed";
}

TEST_F(SqliteProfileStoreTest, RefusesANewerSchema) {
  { ASSERT_TRUE(OpenOk()); }
  Sql("UPDATE schema_version SET version = 99");
  auto s = SqliteProfileStore::Open(path_);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("99"), std::string::npos) << s.status().ToString();
  EXPECT_NE(s.status().message().find(path_), std::string::npos) << s.status().ToString();
}

TEST_F(SqliteProfileStoreTest, RefusesAnotherApplicationsDatabase) {
  Sql("CREATE TABLE photos(id INTEGER PRIMARY KEY, name TEXT)");
  auto s = SqliteProfileStore::Open(path_);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("another application"), std::string::npos) << s.status().ToString();
}

TEST_F(SqliteProfileStoreTest, CorruptRowIsAnErrorNotACrash) {
  auto store = OpenOk();
  ASSERT_TRUE(store);
  Sql("INSERT INTO profiles(token, data, updated_ms) VALUES ('bad', 'k=%zz&&', 0)");
  RunCoroutine(io_, [&]() -> asio::awaitable<void> {
    auto got = co_await store->Get(std::string("bad"));
    CO_ASSERT_TRUE(!got.ok());
    EXPECT_EQ(got.status().kind(), ErrorKind::kInternal);
    EXPECT_NE(got.status().message().find("corrupt"), std::string::npos) << got.status().ToString();
  });
}

TEST_F(SqliteProfileStoreTest, StoresTheSerializedProfile) {
  auto store = OpenOk();
  ASSERT_TRUE(store);
  RunCoroutine(io_, [&]() -> asio::awaitable<void> { EXPECT_TRUE((co_await store->Put(std::string("u"), Prefs("7"))).ok()); });
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open_v2(path_.c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "SELECT data, updated_ms FROM profiles WHERE token = 'u'", -1, &st, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(sqlite3_column_text(st, 0))), SerializeProfile(Prefs("7")));
  EXPECT_GT(sqlite3_column_int64(st, 1), 0);
  sqlite3_finalize(st);
  sqlite3_close(db);
}

}  // namespace
}  // namespace tacc::tacc_layer
