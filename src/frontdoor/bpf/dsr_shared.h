/* What the dsr data path's kernel program (dsr_tc.bpf.c) and its loader (dsr_datapath.cc)
 * share: the layout of every map value, and the hash that picks a slot for a client.
 *
 * C, included by both the BPF program (clang -target bpf) and C++ user space, so the two
 * sides cannot drift apart. Integers named *_be are in network byte order, as in the
 * packet; the rest are in host order.
 */
#ifndef TACC_FRONTDOOR_BPF_DSR_SHARED_H_
#define TACC_FRONTDOOR_BPF_DSR_SHARED_H_

#include <linux/bpf.h> /* struct bpf_spin_lock */
#include <linux/types.h>

/* Back ends the kernel knows at once (indices into the backends map). */
#define DSR_MAX_BACKENDS 1024
/* Entries of one slot table. The slots map holds two tables: user space fills the one not
 * in use and then switches, so a packet never sees half of an update. */
#define DSR_MAX_SLOTS 131072

/* Settings of the program, in its .bss (user space writes them through the mmapped map). */
struct dsr_config {
  __u32 vip_be;            /* the cluster address */
  __u32 ifindex;           /* where frames leave: the interface the program is on */
  __u16 port_be;           /* the cluster port */
  __u8 mac[6];             /* the interface's own MAC: source of forwarded frames */
  __u64 syn_interval_ns;   /* SYN rate limit: one SYN per interval, ... (0: no limit) */
  __u64 syn_burst_ns;      /* ... and at most burst/interval SYNs at once */
};

/* The slot table in use, one 64-bit word so the program reads it in one load:
 * (offset of its first entry in the slots map << 32) | number of slots (0: no back ends). */
#define DSR_TABLE(offset, n) ((((__u64)(offset)) << 32) | (__u32)(n))
#define DSR_TABLE_OFFSET(t) ((__u32)((t) >> 32))
#define DSR_TABLE_SLOTS(t) ((__u32)(t))

/* backends map: index -> back end. A connection recorded with another generation than
 * its back end's current one belongs to a back end that was removed (the index may have
 * been reused since): it is chosen afresh. */
struct dsr_backend {
  __u8 mac[6];
  __u8 present; /* 0: no back end at this index; never forwarded to */
  __u8 pad;
  __u32 ipv4_be;
  __u32 generation;
};

/* conns map (LRU hash): client (address, port) -> where its connection goes. The cluster
 * address and port are fixed, so they are not part of the key. */
struct dsr_conn_key {
  __u32 saddr_be;
  __u16 sport_be;
  __u16 pad; /* zero */
};
struct dsr_conn {
  __u32 backend; /* index into backends */
  __u32 generation;
};

/* The SYN rate limit's state (GCRA: the theoretical arrival time of the next SYN). */
struct dsr_syn_bucket {
  struct bpf_spin_lock lock;
  __u32 pad;
  __u64 tat_ns;
};

/* Counters, one set per CPU (stats map); user space sums them. */
struct dsr_stats {
  __u64 packets;             /* TCP packets to the cluster address and port */
  __u64 bytes;               /* their length, link layer included */
  __u64 new_connections;     /* SYNs given a back end */
  __u64 adopted;             /* mid-connection packets with no (valid) entry, given one by the hash */
  __u64 redirected;          /* packets sent to a back end */
  __u64 dropped_no_backend;  /* no slot table, or its slot names no present back end */
  __u64 dropped_syn_rate;    /* SYNs over the rate limit */
};

/* The hash that picks a client's slot: slot = dsr_hash(...) % nslots.
 *
 * It is the Linux kernel's jhash_2words(a, b, 0) (include/linux/jhash.h; Bob Jenkins'
 * lookup3 final mix, public domain) of the client's IPv4 address and TCP source port in
 * host order (10.0.0.1 is 0x0a000001). It depends on nothing but the packet, so a fresh
 * dispatcher with the same slot table sends an established connection's packets where
 * the old one did (ONE-IP's stateless failover). */
static inline __u32 dsr_rol32(__u32 w, unsigned s) { return (w << s) | (w >> (32 - s)); }

static inline __u32 dsr_hash(__u32 saddr, __u16 sport) {
  const __u32 init = 0xdeadbeef + (2 << 2); /* JHASH_INITVAL + 2 words, seed 0 */
  __u32 a = saddr + init;
  __u32 b = (__u32)sport + init;
  __u32 c = init;
  c ^= b; c -= dsr_rol32(b, 14);
  a ^= c; a -= dsr_rol32(c, 11);
  b ^= a; b -= dsr_rol32(a, 25);
  c ^= b; c -= dsr_rol32(b, 16);
  a ^= c; a -= dsr_rol32(c, 4);
  b ^= a; b -= dsr_rol32(a, 14);
  c ^= b; c -= dsr_rol32(b, 24);
  return c;
}

#endif /* TACC_FRONTDOOR_BPF_DSR_SHARED_H_ */
