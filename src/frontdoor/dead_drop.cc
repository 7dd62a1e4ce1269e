#include "frontdoor/dead_drop.h"

#include <boost/asio/ip/address_v4.hpp>
#include <fmt/format.h>
#include <nftables/libnftables.h>

namespace tacc::frontdoor {

namespace {
Status RunNft(const std::string& commands) {
  nft_ctx* ctx = nft_ctx_new(NFT_CTX_DEFAULT);
  if (!ctx) return Status::Internal("nft_ctx_new failed");
  nft_ctx_buffer_error(ctx);
  nft_ctx_buffer_output(ctx);
  int rc = nft_run_cmd_from_buffer(ctx, commands.c_str());
  std::string err = nft_ctx_get_error_buffer(ctx) ? nft_ctx_get_error_buffer(ctx) : "";
  nft_ctx_free(ctx);
  if (rc != 0) return Status::Unavailable("nftables refused the dead-drop guard: " + err);
  return Status::Ok();
}
}  // namespace

Result<std::unique_ptr<DeadDrop>> DeadDrop::Install(const std::string& name, const std::string& vip, int port) {
  boost::system::error_code ec;
  auto address = boost::asio::ip::make_address_v4(vip, ec);  // validated: goes into nft text
  if (ec || port <= 0 || port > 65535) return Status::InvalidArgument("dead-drop guard: bad address or port");
  for (char c : name)
    if (!(std::islower(static_cast<unsigned char>(c)) || std::isdigit(static_cast<unsigned char>(c)) || c == '_'))
      return Status::InvalidArgument("dead-drop guard: bad table name " + name);
  std::string table = "tacc_guard_" + name;
  // One transaction: a table left by a previous incarnation is replaced.
  std::string cmds = fmt::format(
      "add table ip {0}\ndelete table ip {0}\n"
      "table ip {0} {{\n chain input {{\n  type filter hook input priority -300; policy accept;\n"
      "  ip daddr {1} tcp dport {2} drop\n }}\n}}\n",
      table, address.to_string(), port);
  if (Status s = RunNft(cmds); !s.ok()) return s;
  return std::unique_ptr<DeadDrop>(new DeadDrop(table));
}

DeadDrop::~DeadDrop() { (void)RunNft(fmt::format("delete table ip {}\n", table_)); }

}  // namespace tacc::frontdoor
