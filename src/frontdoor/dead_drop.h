// DeadDrop: what a dsr dispatcher's host does with the cluster's packets when its
// dispatcher is gone.
//
// The tc-BPF program takes packets to the cluster address before the host's own stack
// sees them, and it goes with the process (a tcx link). A dispatcher killed -9 leaves
// the cluster address on its interface, so until the standby's gratuitous ARP has moved
// the clients over, their packets would reach this host's stack, which has no listener
// on the cluster port and answers with resets: established connections would die that
// the standby could have carried on. DeadDrop installs, while the dispatcher runs, an
// nftables rule (table "ip tacc_guard_<name>", input hook) that drops TCP to the
// cluster address and port instead. The program sees the packets first, so the rule
// does nothing while it runs; the table outlives a dispatcher killed -9 (which is the
// point: clients retransmit, and their retransmissions reach the new active one), and
// is removed on an orderly stop.
#pragma once

#include <memory>
#include <string>

#include "common/status.h"

namespace tacc::frontdoor {

class DeadDrop {
 public:
  // `name`: [a-z0-9_], as NatDatapath's table names.
  static Result<std::unique_ptr<DeadDrop>> Install(const std::string& name, const std::string& vip, int port);
  ~DeadDrop();  // removes the table

 private:
  explicit DeadDrop(std::string table) : table_(std::move(table)) {}
  std::string table_;
};

}  // namespace tacc::frontdoor
