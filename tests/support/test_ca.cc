#include "test_ca.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <boost/asio/ip/address.hpp>
#include <cstdio>
#include <cstdlib>
#include <memory>

namespace tacc::testing {
namespace {

void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "test certificates: %s failed\n", what);
    std::abort();
  }
}

using Key = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;
using Cert = std::unique_ptr<X509, decltype(&X509_free)>;

Key NewKey() {
  Key k(EVP_EC_gen("P-256"), EVP_PKEY_free);
  Check(k != nullptr, "EVP_EC_gen");
  return k;
}

void AddExtension(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  Check(ext != nullptr, "X509V3_EXT_conf_nid");
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

Cert NewCert(EVP_PKEY* key, const std::string& cn, X509* issuer, EVP_PKEY* issuer_key, long serial) {
  Cert c(X509_new(), X509_free);
  X509_set_version(c.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(c.get()), serial);
  X509_gmtime_adj(X509_getm_notBefore(c.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(c.get()), 86400);
  X509_set_pubkey(c.get(), key);
  X509_NAME* name = X509_get_subject_name(c.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509_set_issuer_name(c.get(), issuer ? X509_get_subject_name(issuer) : name);
  (void)issuer_key;
  return c;
}

std::string Pem(X509* c) {
  BIO* b = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(b, c);
  char* data = nullptr;
  long n = BIO_get_mem_data(b, &data);
  std::string out(data, static_cast<size_t>(n));
  BIO_free(b);
  return out;
}

std::string Pem(EVP_PKEY* k) {
  BIO* b = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(b, k, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  long n = BIO_get_mem_data(b, &data);
  std::string out(data, static_cast<size_t>(n));
  BIO_free(b);
  return out;
}

}  // namespace

TestCertificates MakeTestCertificates(const std::vector<std::string>& names) {
  Key ca_key = NewKey();
  Cert ca = NewCert(ca_key.get(), "tacc test CA", nullptr, nullptr, 1);
  AddExtension(ca.get(), ca.get(), NID_basic_constraints, "critical,CA:TRUE");
  AddExtension(ca.get(), ca.get(), NID_key_usage, "critical,keyCertSign,cRLSign");
  AddExtension(ca.get(), ca.get(), NID_subject_key_identifier, "hash");
  Check(X509_sign(ca.get(), ca_key.get(), EVP_sha256()) > 0, "signing the CA");

  Key key = NewKey();
  Cert leaf = NewCert(key.get(), names.empty() ? "localhost" : names.front(), ca.get(), ca_key.get(), 2);
  std::string san;
  for (const auto& n : names) {
    boost::system::error_code ec;
    boost::asio::ip::make_address(n, ec);
    if (!san.empty()) san += ",";
    san += (ec ? "DNS:" : "IP:") + n;
  }
  AddExtension(leaf.get(), ca.get(), NID_basic_constraints, "critical,CA:FALSE");
  AddExtension(leaf.get(), ca.get(), NID_ext_key_usage, "serverAuth");
  if (!san.empty()) AddExtension(leaf.get(), ca.get(), NID_subject_alt_name, san);
  Check(X509_sign(leaf.get(), ca_key.get(), EVP_sha256()) > 0, "signing the server certificate");
  return TestCertificates{Pem(ca.get()), Pem(leaf.get()), Pem(key.get())};
}

}  // namespace tacc::testing
