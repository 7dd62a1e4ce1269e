#include "common/cluster_key.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <atomic>
#include <filesystem>
#include <thread>
#include <fstream>
#include <vector>

namespace tacc {
namespace {

class ClusterKeyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("tacc-key-test-" + std::to_string(getpid()) + "-" +
                                                     ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string Path(const std::string& name) const { return (dir_ / name).string(); }
  std::filesystem::path dir_;
};

std::string AsString(const ClusterKey::Mac& m) { return std::string(reinterpret_cast<const char*>(m.data()), m.size()); }

TEST_F(ClusterKeyTest, CreatedFileIsPrivateAndLoadsBack) {
  auto made = ClusterKey::CreateFile(Path("sub/cluster.key"));
  ASSERT_TRUE(made.ok()) << made.status().ToString();
  struct stat st {};
  ASSERT_EQ(stat(Path("sub/cluster.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(stat(Path("sub").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 077, 0u);
  auto loaded = ClusterKey::Load(Path("sub/cluster.key"));
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_EQ(loaded->ToHex(), made->ToHex());
  EXPECT_EQ(loaded->Fingerprint(), made->Fingerprint());
}

TEST_F(ClusterKeyTest, CreateNeverOverwrites) {
  ASSERT_TRUE(ClusterKey::CreateFile(Path("k")).ok());
  auto again = ClusterKey::CreateFile(Path("k"));
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status().kind(), ErrorKind::kUnavailable);
}

TEST_F(ClusterKeyTest, LoadOrCreateKeepsAnExistingKey) {
  auto a = ClusterKey::LoadOrCreate(Path("k"));
  auto b = ClusterKey::LoadOrCreate(Path("k"));
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->ToHex(), b->ToHex());
}

TEST_F(ClusterKeyTest, RefusesAFileOthersCanRead) {
  ASSERT_TRUE(ClusterKey::CreateFile(Path("k")).ok());
  chmod(Path("k").c_str(), 0644);
  auto k = ClusterKey::Load(Path("k"));
  ASSERT_FALSE(k.ok());
  EXPECT_EQ(k.status().kind(), ErrorKind::kInvalidArgument);
  EXPECT_NE(k.status().message().find("chmod 600"), std::string::npos);
}

TEST_F(ClusterKeyTest, RefusesMalformedContent) {
  std::filesystem::create_directories(dir_);
  for (const std::string& text : std::vector<std::string>{"abc\n", std::string(63, 'a'), std::string(65, 'a'), std::string(62, 'a') + "zz"}) {
    std::ofstream(Path("k")) << text;
    chmod(Path("k").c_str(), 0600);
    EXPECT_FALSE(ClusterKey::Load(Path("k")).ok()) << text;
  }
}

TEST_F(ClusterKeyTest, MissingFileSaysHowToMakeOne) {
  auto k = ClusterKey::Load(Path("none"));
  ASSERT_FALSE(k.ok());
  EXPECT_EQ(k.status().kind(), ErrorKind::kNotFound);
  EXPECT_NE(k.status().message().find("tacc key generate"), std::string::npos);
}

TEST(ClusterKeyMacTest, MacDependsOnKeyLabelAndEveryPart) {
  std::array<uint8_t, 32> a{}, b{};
  b[0] = 1;
  auto ka = ClusterKey::FromBytes(a), kb = ClusterKey::FromBytes(b);
  auto m = AsString(ka.Sign("hello", {"x", "y"}));
  EXPECT_TRUE(ka.Verify(m, "hello", {"x", "y"}));
  EXPECT_FALSE(kb.Verify(m, "hello", {"x", "y"}));
  EXPECT_FALSE(ka.Verify(m, "hellO", {"x", "y"}));
  EXPECT_FALSE(ka.Verify(m, "hello", {"x", "z"}));
  // Length prefixes: moving a byte between parts changes the MAC.
  EXPECT_FALSE(ka.Verify(m, "hello", {"xy", ""}));
  EXPECT_FALSE(ka.Verify(m.substr(0, 31), "hello", {"x", "y"}));
}

// Sign computes HMAC-SHA256 from precomputed pad states: it must equal OpenSSL's own
// HMAC over the same length-prefixed input, for short and multi-block inputs, and from
// several threads at once.
TEST(ClusterKeyMacTest, EqualsOpenSslHmacOverTheLengthPrefixedParts) {
  std::array<uint8_t, ClusterKey::kBytes> raw{};
  for (size_t i = 0; i < raw.size(); ++i) raw[i] = static_cast<uint8_t>(i * 7 + 1);
  ClusterKey key = ClusterKey::FromBytes(raw);
  auto reference = [&](std::string_view label, std::vector<std::string_view> parts) {
    std::string input;
    auto append = [&](std::string_view p) {
      uint32_t n = static_cast<uint32_t>(p.size());
      for (int shift = 24; shift >= 0; shift -= 8) input += static_cast<char>((n >> shift) & 0xff);
      input.append(p);
    };
    append(label);
    for (auto p : parts) append(p);
    ClusterKey::Mac mac{};
    unsigned int len = 0;
    HMAC(EVP_sha256(), raw.data(), static_cast<int>(raw.size()), reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac.data(),
         &len);
    return mac;
  };
  std::string big(5000, 'z');
  EXPECT_EQ(key.Sign("l", {}), reference("l", {}));
  EXPECT_EQ(key.Sign("tacc/udp/x", {"a", "", "bc"}), reference("tacc/udp/x", {"a", "", "bc"}));
  EXPECT_EQ(key.Sign("tacc/udp/x", {big, "tail"}), reference("tacc/udp/x", {big, "tail"}));
  std::vector<std::thread> threads;
  std::atomic<int> wrong{0};
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 2000; ++i) {
        std::string part = std::to_string(t * 100000 + i);
        if (key.Sign("t", {part}) != reference("t", {part})) ++wrong;
      }
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(wrong.load(), 0);
}

TEST(ClusterKeyMacTest, GeneratedKeysDiffer) {
  auto a = ClusterKey::Generate(), b = ClusterKey::Generate();
  EXPECT_NE(a->ToHex(), b->ToHex());
  EXPECT_EQ(RandomBytes(16).size(), 16u);
}

}  // namespace
}  // namespace tacc
