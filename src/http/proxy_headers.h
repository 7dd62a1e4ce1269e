// Proxy header rules (RFC 9110 §7.6): what a proxy must do to the header fields of every
// message it forwards, in either direction. Used by TranSend's forward and reverse
// proxy (issue 7) on requests to origins and on responses to clients.
//
//   * Hop-by-hop fields are removed: Connection, and every field Connection names,
//     Keep-Alive, Proxy-Connection, Proxy-Authenticate, Proxy-Authorization, TE,
//     Trailer, Transfer-Encoding and Upgrade. (Framing is always redone by us: the
//     forwarded message gets its own Content-Length or chunking from the writer.)
//   * Via gets our entry appended ("1.1 <pseudonym>"), after any the message had.
//   * A message whose Via already carries our pseudonym has looped back to us
//     (ViaHasLoop): the proxy must answer 508, not forward it again.
//
// Pure functions over Beast field sets; no I/O. Thread-safe.
#pragma once

#include <boost/beast/http/fields.hpp>

#include <string>
#include <string_view>

namespace tacc::http {

// Removes the hop-by-hop fields from `fields` (including those named by Connection).
void RemoveHopByHop(boost::beast::http::fields& fields);

// Appends "<protocol> <pseudonym>" to Via (protocol e.g. "1.1", from the message we
// received). `pseudonym` must be a token (letters, digits, "-", ".", "_").
void AppendVia(boost::beast::http::fields& fields, std::string_view protocol, std::string_view pseudonym);

// True if a Via entry of `fields` has received-by == `pseudonym` (case-insensitive).
bool ViaHasLoop(const boost::beast::http::fields& fields, std::string_view pseudonym);

// "1.0" or "1.1" for Beast's version number (10, 11).
std::string ProtocolVersion(unsigned version);

}  // namespace tacc::http
