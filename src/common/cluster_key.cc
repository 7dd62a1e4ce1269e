#include "common/cluster_key.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace tacc {

namespace {

constexpr char kHex[] = "0123456789abcdef";

std::string Hex(const uint8_t* p, size_t n) {
  std::string out;
  out.reserve(2 * n);
  for (size_t i = 0; i < n; ++i) {
    out += kHex[p[i] >> 4];
    out += kHex[p[i] & 15];
  }
  return out;
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::string RandomBytes(size_t n) {
  std::string out(n, '\0');
  if (n > 0 && RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) != 1) {
    // RAND_bytes fails only when the system has no entropy source: nothing safe to do.
    std::abort();
  }
  return out;
}

bool ConstantTimeEqual(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

Result<ClusterKey> ClusterKey::Load(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) {
    if (errno == ENOENT)
      return Status::NotFound("cluster key file " + path + " does not exist (create one with `tacc key generate --out " + path +
                              "` and copy it to every host, or set cluster.key_file)");
    return Status::InvalidArgument("cannot open cluster key file " + path + ": " + strerror(errno));
  }
  struct stat st {};
  if (fstat(fd, &st) != 0) {
    close(fd);
    return Status::Internal("fstat " + path + ": " + strerror(errno));
  }
  if (st.st_uid != geteuid() || (st.st_mode & 077) != 0) {
    close(fd);
    return Status::InvalidArgument("cluster key file " + path + " must be owned by this user and readable by nobody else (chmod 600 " + path + ")");
  }
  char buf[256];
  ssize_t n = read(fd, buf, sizeof buf);
  close(fd);
  if (n < 0) return Status::Internal("read " + path + ": " + strerror(errno));
  std::array<uint8_t, kBytes> bytes{};
  size_t digits = 0;
  for (ssize_t i = 0; i < n; ++i) {
    char c = buf[i];
    if (c == '\n' || c == '\r' || c == ' ' || c == '\t') continue;
    int d = HexDigit(c);
    if (d < 0 || digits >= 2 * kBytes) return Status::InvalidArgument("cluster key file " + path + " must hold exactly 64 hex digits");
    bytes[digits / 2] = static_cast<uint8_t>(bytes[digits / 2] << 4 | d);
    ++digits;
  }
  if (digits != 2 * kBytes) return Status::InvalidArgument("cluster key file " + path + " must hold exactly 64 hex digits");
  return ClusterKey(bytes);
}

Result<ClusterKey> ClusterKey::Generate() {
  std::array<uint8_t, kBytes> bytes{};
  std::string r = RandomBytes(kBytes);
  std::memcpy(bytes.data(), r.data(), kBytes);
  return ClusterKey(bytes);
}

Result<ClusterKey> ClusterKey::CreateFile(const std::string& path) {
  std::error_code ec;
  auto parent = std::filesystem::path(path).parent_path();
  if (!parent.empty() && !std::filesystem::exists(parent, ec)) {
    std::filesystem::create_directories(parent, ec);
    if (ec) return Status::Internal("cannot create " + parent.string() + ": " + ec.message());
    chmod(parent.c_str(), 0700);
  }
  auto key = Generate();
  if (!key.ok()) return key.status();
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) {
    if (errno == EEXIST) return Status::Unavailable("cluster key file " + path + " already exists; not overwriting it");
    return Status::Internal("cannot create cluster key file " + path + ": " + strerror(errno));
  }
  fchmod(fd, 0600);  // whatever the umask
  std::string text = key->ToHex() + "\n";
  bool ok = write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  ok = fsync(fd) == 0 && ok;
  close(fd);
  if (!ok) {
    unlink(path.c_str());
    return Status::Internal("cannot write cluster key file " + path);
  }
  return key;
}

Result<ClusterKey> ClusterKey::LoadOrCreate(const std::string& path) {
  auto key = Load(path);
  if (key.ok() || key.status().kind() != ErrorKind::kNotFound) return key;
  auto created = CreateFile(path);
  // Two processes may race to create it: the loser reads the winner's.
  if (!created.ok() && created.status().kind() == ErrorKind::kUnavailable) return Load(path);
  return created;
}

struct ClusterKey::HmacPads {
  EVP_MD_CTX* inner = EVP_MD_CTX_new();  // SHA-256 after (key ^ ipad)
  EVP_MD_CTX* outer = EVP_MD_CTX_new();  // SHA-256 after (key ^ opad)
  HmacPads(const HmacPads&) = delete;
  HmacPads& operator=(const HmacPads&) = delete;
  explicit HmacPads(const std::array<uint8_t, kBytes>& key) {
    // RFC 2104 with a key shorter than SHA-256's 64-byte block: zero-padded, then xored.
    std::array<uint8_t, 64> ipad{}, opad{};
    for (size_t i = 0; i < ipad.size(); ++i) {
      uint8_t k = i < key.size() ? key[i] : 0;
      ipad[i] = k ^ 0x36;
      opad[i] = k ^ 0x5c;
    }
    if (!inner || !outer || EVP_DigestInit_ex(inner, EVP_sha256(), nullptr) != 1 || EVP_DigestUpdate(inner, ipad.data(), ipad.size()) != 1 ||
        EVP_DigestInit_ex(outer, EVP_sha256(), nullptr) != 1 || EVP_DigestUpdate(outer, opad.data(), opad.size()) != 1)
      throw std::runtime_error("OpenSSL cannot set up SHA-256");
    OPENSSL_cleanse(ipad.data(), ipad.size());
    OPENSSL_cleanse(opad.data(), opad.size());
  }
  ~HmacPads() {
    EVP_MD_CTX_free(inner);
    EVP_MD_CTX_free(outer);
  }
};

ClusterKey::ClusterKey(const std::array<uint8_t, kBytes>& bytes) : bytes_(bytes), pads_(std::make_shared<const HmacPads>(bytes)) {}

ClusterKey::Mac ClusterKey::Sign(std::string_view label, std::initializer_list<std::string_view> parts) const {
  // One scratch context per thread: copying a pad state into it is the whole set-up.
  struct Scratch {
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    ~Scratch() { EVP_MD_CTX_free(ctx); }
  };
  thread_local Scratch scratch;
  EVP_MD_CTX* c = scratch.ctx;
  auto update_part = [c](std::string_view part) {
    uint32_t n = static_cast<uint32_t>(part.size());
    const uint8_t prefix[4] = {static_cast<uint8_t>(n >> 24), static_cast<uint8_t>(n >> 16), static_cast<uint8_t>(n >> 8), static_cast<uint8_t>(n)};
    EVP_DigestUpdate(c, prefix, sizeof prefix);
    EVP_DigestUpdate(c, part.data(), part.size());
  };
  Mac inner{}, mac{};
  unsigned int len = 0;
  bool ok = c && EVP_MD_CTX_copy_ex(c, pads_->inner) == 1;
  if (ok) {
    update_part(label);
    for (auto p : parts) update_part(p);
    ok = EVP_DigestFinal_ex(c, inner.data(), &len) == 1 && EVP_MD_CTX_copy_ex(c, pads_->outer) == 1 &&
         EVP_DigestUpdate(c, inner.data(), inner.size()) == 1 && EVP_DigestFinal_ex(c, mac.data(), &len) == 1;
  }
  if (!ok) throw std::runtime_error("OpenSSL failed to compute an HMAC");
  return mac;
}

bool ClusterKey::Verify(std::string_view mac, std::string_view label, std::initializer_list<std::string_view> parts) const {
  Mac want = Sign(label, parts);
  return ConstantTimeEqual(mac, std::string_view(reinterpret_cast<const char*>(want.data()), want.size()));
}

std::string ClusterKey::Fingerprint() const {
  uint8_t digest[SHA256_DIGEST_LENGTH];
  SHA256(bytes_.data(), bytes_.size(), digest);
  return Hex(digest, 4);
}

std::string ClusterKey::ToHex() const { return Hex(bytes_.data(), bytes_.size()); }

}  // namespace tacc
