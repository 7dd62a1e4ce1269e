// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The dsr (L4/2, direct routing) data path: a tc ingress program on the dispatcher's
 * interface (clsact direct-action, or a tcx link).
 *
 * A TCP packet to the cluster address and port gets a back end and leaves by the same
 * interface with only its Ethernet addresses changed (destination: the back end's MAC;
 * source: ours). The back end has the cluster address on its loopback, so it takes the
 * packet as its own and answers the client directly: replies never come back through
 * here (eNetwork Dispatcher, LSMAC, ONE-IP in the clustering survey).
 *
 * A SYN is a new connection: it gets the back end of its slot, slots[hash % nslots]
 * (dsr_hash in dsr_shared.h), and the choice is recorded in the conns map. Every other
 * packet follows its connection's entry, so a change of the slot table leaves
 * established connections where they are. A packet of a connection with no entry (this
 * dispatcher took over from another, or the LRU map forgot it) gets the back end the
 * hash gives, which is where a dispatcher with the same table sent it before: ONE-IP's
 * stateless failover; the choice is then recorded like a SYN's.
 *
 * Everything else (other addresses, ports, protocols, IP fragments) passes untouched
 * to the host's own stack.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/pkt_cls.h>
#include <linux/tcp.h>

#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "dsr_shared.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Settings and the slot table in use (user space writes both through the mmapped .bss). */
struct dsr_config dsr_config;
__u64 dsr_table;

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, DSR_MAX_BACKENDS);
  __type(key, __u32);
  __type(value, struct dsr_backend);
} backends SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 2 * DSR_MAX_SLOTS);
  __type(key, __u32);
  __type(value, __u32);
} slots SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, 1 << 20); /* user space sets the size before loading */
  __type(key, struct dsr_conn_key);
  __type(value, struct dsr_conn);
} conns SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct dsr_syn_bucket);
} syn_bucket SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct dsr_stats);
} stats SEC(".maps");

#define IP_MF 0x2000
#define IP_OFFSET 0x1fff

/* GCRA: a SYN is admitted if, counting it, no more than burst worth of intervals are
 * owed; the spin lock makes the check and the update one step across CPUs. */
static __always_inline int syn_admitted(void) {
  __u64 interval = dsr_config.syn_interval_ns;
  if (interval == 0) return 1;
  __u32 zero = 0;
  struct dsr_syn_bucket *b = bpf_map_lookup_elem(&syn_bucket, &zero);
  if (!b) return 1;
  __u64 now = bpf_ktime_get_ns();
  __u64 burst = dsr_config.syn_burst_ns;
  int admitted = 0;
  bpf_spin_lock(&b->lock);
  __u64 tat = b->tat_ns > now ? b->tat_ns : now;
  if (tat + interval - now <= burst) {
    b->tat_ns = tat + interval;
    admitted = 1;
  }
  bpf_spin_unlock(&b->lock);
  return admitted;
}

static __always_inline int forward(struct __sk_buff *skb, const struct dsr_backend *be, struct dsr_stats *st) {
  void *data = (void *)(long)skb->data;
  void *data_end = (void *)(long)skb->data_end;
  struct ethhdr *eth = data;
  if ((void *)(eth + 1) > data_end) return TC_ACT_SHOT; /* checked before: cannot happen */
  __builtin_memcpy(eth->h_dest, be->mac, ETH_ALEN);
  __builtin_memcpy(eth->h_source, dsr_config.mac, ETH_ALEN);
  st->redirected++;
  return bpf_redirect(dsr_config.ifindex, 0);
}

/* What the program needs of a packet. */
struct dsr_packet {
  __u32 saddr_be;
  __u16 sport_be;
  __u8 syn; /* a SYN without ACK: a new connection */
};

enum { kNotOurs = 0, kOurs = 1, kShort = 2 };

/* Whether the packet is TCP to the cluster address and port; kShort when its headers are
 * not all in the linear part of the buffer (then pull them and ask again). */
static __always_inline int parse(struct __sk_buff *skb, struct dsr_packet *p) {
  void *data = (void *)(long)skb->data;
  void *data_end = (void *)(long)skb->data_end;
  struct ethhdr *eth = data;
  if ((void *)(eth + 1) > data_end) return kNotOurs;
  if (eth->h_proto != bpf_htons(ETH_P_IP)) return kNotOurs;
  struct iphdr *ip = (void *)(eth + 1);
  if ((void *)(ip + 1) > data_end) return kShort;
  if (ip->protocol != IPPROTO_TCP || ip->daddr != dsr_config.vip_be) return kNotOurs;
  /* Only the first fragment has ports; our stack reassembles (and refuses) the rest. */
  if (ip->frag_off & bpf_htons(IP_MF | IP_OFFSET)) return kNotOurs;
  __u32 ihl = ip->ihl * 4;
  if (ihl < sizeof(*ip)) return kNotOurs;
  struct tcphdr *tcp = (void *)ip + ihl;
  if ((void *)(tcp + 1) > data_end) return kShort;
  if (tcp->dest != dsr_config.port_be) return kNotOurs;
  p->saddr_be = ip->saddr;
  p->sport_be = tcp->source;
  p->syn = tcp->syn && !tcp->ack;
  return kOurs;
}

SEC("tc")
int dsr_ingress(struct __sk_buff *skb) {
  struct dsr_packet pkt = {};
  int verdict = parse(skb, &pkt);
  if (verdict == kShort) {
    /* Rare (headers split across pages): pull them in and look again. */
    __u32 want = sizeof(struct ethhdr) + 60 + sizeof(struct tcphdr);
    if (bpf_skb_pull_data(skb, skb->len < want ? skb->len : want) != 0) return TC_ACT_OK;
    verdict = parse(skb, &pkt);
  }
  if (verdict != kOurs) return TC_ACT_OK;

  __u32 zero = 0;
  struct dsr_stats *st = bpf_map_lookup_elem(&stats, &zero);
  if (!st) return TC_ACT_OK;
  st->packets++;
  st->bytes += skb->len;

  struct dsr_conn_key key = {.saddr_be = pkt.saddr_be, .sport_be = pkt.sport_be, .pad = 0};
  if (pkt.syn) {
    if (!syn_admitted()) {
      st->dropped_syn_rate++;
      return TC_ACT_SHOT;
    }
  } else {
    struct dsr_conn *c = bpf_map_lookup_elem(&conns, &key);
    if (c) {
      __u32 idx = c->backend;
      struct dsr_backend *be = bpf_map_lookup_elem(&backends, &idx);
      if (be && be->present && be->generation == c->generation) return forward(skb, be, st);
      /* Its back end is gone: the hash decides, as for a connection we never saw (a
       * back end that does not know the connection resets it, and the client learns at
       * once instead of after its timeouts). */
    }
  }

  __u64 table = *(volatile __u64 *)&dsr_table;
  __u32 n = DSR_TABLE_SLOTS(table);
  if (n == 0 || n > DSR_MAX_SLOTS) {
    st->dropped_no_backend++;
    return TC_ACT_SHOT;
  }
  __u32 slot = DSR_TABLE_OFFSET(table) + dsr_hash(bpf_ntohl(pkt.saddr_be), bpf_ntohs(pkt.sport_be)) % n;
  __u32 *idx = bpf_map_lookup_elem(&slots, &slot);
  if (!idx) {
    st->dropped_no_backend++;
    return TC_ACT_SHOT;
  }
  __u32 chosen = *idx;
  struct dsr_backend *be = bpf_map_lookup_elem(&backends, &chosen);
  if (!be || !be->present) {
    st->dropped_no_backend++;
    return TC_ACT_SHOT;
  }
  struct dsr_conn conn = {.backend = chosen, .generation = be->generation};
  bpf_map_update_elem(&conns, &key, &conn, BPF_ANY);
  if (pkt.syn)
    st->new_connections++;
  else
    st->adopted++;
  return forward(skb, be, st);
}
