// Test certificates: a throw-away CA and a server certificate it signed, made in memory
// with OpenSSL for each test run (HTTPS origins in tests; nothing is read from disk).
#pragma once

#include <string>
#include <vector>

namespace tacc::testing {

struct TestCertificates {
  std::string ca_pem;           // the CA's certificate: what a client must trust
  std::string server_cert_pem;  // the server's certificate, signed by the CA
  std::string server_key_pem;   // the server's private key
};

// A CA and a server certificate for `names` (DNS names or IP addresses, all put in the
// subjectAltName), valid from an hour ago for a day. Aborts the test run on failure.
TestCertificates MakeTestCertificates(const std::vector<std::string>& names);

}  // namespace tacc::testing
