// ForwardedClient: the address of the client a request came from, when it came through a
// proxy we trust (the front door's l7 or relay dispatcher, or an operator's own load
// balancer) that says so in X-Forwarded-For.
//
// A front end behind `tacc dispatch --mode l7` sees the dispatcher's address on every
// connection; TranSend keys users without a cookie, and proxy.client_networks, by client
// address, so without this every user would be one user. Only the peers listed in
// http.trusted_proxies are believed (empty by default: the header is ignored, the socket
// address is the client): anybody else could write any address into the header.
//
// The header is read right to left (each proxy appends the address it heard from): the
// first address that is not itself a trusted proxy is the client. A header that does not
// parse leaves the last trusted hop as the client. Used by the front end for every request
// (sns::Frontend), visible to services as RequestInfo::client.
#pragma once

#include <boost/asio/ip/address.hpp>
#include <boost/beast/http/fields.hpp>

#include "http/destination_policy.h"

namespace tacc::http {

// `fields`: the request's headers (every X-Forwarded-For line, in order, is one list).
// `peer`: the socket's remote address.
boost::asio::ip::address ForwardedClient(const boost::beast::http::fields& fields, const boost::asio::ip::address& peer, const NetworkList& trusted);

}  // namespace tacc::http
