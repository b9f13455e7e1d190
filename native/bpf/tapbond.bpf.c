// The kernel fast path: carries out the plans the TypeScript modes publish, nothing more.
// Four programs share the maps below:
//   tx    (TCX egress of the TAP master): picks the slave as the TxPlan says and redirects;
//   tx_after (last clsact egress filter of the TAP, only while a slave has a queue_id): the same
//         verdict, after the user's tc classifiers have set the frame's queue mapping;
//   rx    (TCX ingress of every slave): delivers into the TAP as the RxPlan says, or drops;
//   slow  (socket filter on the daemon's AF_PACKET sockets): copies only the frames the mode
//         must see (LACPDUs, ARP for the monitor or RLB) to the JavaScript datapath.
// A frame the programs cannot decide goes to the JavaScript datapath unchanged: from tx by
// TC_ACT_OK (it then reaches the TAP's fd), which the JS path transmits itself. The hash is a
// line-by-line port of src/datapath/hash.ts (itself the kernel's bond_xmit_hash()).
//
// Build: npm run build:bpf (clang -O2 -target bpf). The object is committed; .ci/run rebuilds it
// and fails when it differs. Maps are legacy "maps" section definitions, read by our own loader
// (src/fastpath/elf.ts); no BTF, no CO-RE, no global data.
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

#define MAX_PORTS 32
#define MAX_ET 8
#define PUNT 0xffffffffu

// A plan, as src/fastpath/plan-encode.ts writes it. Two generations; `gen` names the live one.
struct plan {
  __u32 kind;           // TX kind, see K_*
  __u32 mask;           // single/all: the mask; tlb: the active port's mask
  __u32 nmasks;         // hash / round-robin: entries in masks[]
  __u32 policy;         // xmit_hash_policy (HASH_POLICIES index)
  __u32 per_port;       // round-robin: packets_per_slave (0 = random)
  __u32 igmp_mask;      // round-robin: where IGMP goes
  __u32 neighbor_mask;  // hash: ARP/ND leave on these (broadcast_neighbor), 0 = off
  __u32 tap_ifindex;
  __u32 masks[MAX_PORTS];
  __u32 ifindex[MAX_PORTS];  // engine port -> ifindex (0 = none)
  __u8 deliver[MAX_PORTS];   // RxPlan.deliver
  __u8 bond_mac[8];
  __u32 rewrite_n;           // RxPlan.rewrite: slaves' own MACs, 6 bytes each
  __u8 rewrite_macs[MAX_PORTS * 6];
  __u32 n_et;                // RxPlan.ethertypes, the non-normal entries
  __u16 et[MAX_ET];
  __u8 et_how[MAX_ET];
  // balance-tlb / balance-alb (TlbPlan); `mask` is the active port's
  __u32 tlb_flags;           // TLB_*
  __u32 tlb_active;          // the active engine port
  __u32 tlb_usable;          // ports a bucket may use
  __u8 tlb_bond_mac[8];
  __u8 port_macs[MAX_PORTS * 6];  // each port's own MAC, for the source of balanced frames
  // queue_id (balance-rr, active-backup; TxPlan.queues): a frame whose queue mapping names a
  // slave's queue id leaves on that slave when its link is up (bond_slave_override)
  __u32 q_txq;               // tx_queues, 0 = no slave has a queue id
  __u32 q_up;                // ports that may take an overridden frame
  __u32 q_after;             // tx_after sits last on the TAP's clsact egress
  __u8 qid[MAX_PORTS];       // queue id by engine port, 0 = none
};

enum { K_NONE, K_SINGLE, K_RR, K_ALL, K_HASH, K_SLOW, K_TLB };
enum { TLB_ALB = 1, TLB_DYNAMIC = 2, TLB_TRAP_ARP = 4 };
enum { HOW_NORMAL, HOW_CONSUME, HOW_OBSERVE };
enum { DELIVER_NONE, DELIVER_ALL, DELIVER_UNICAST };

// Per engine port, per CPU (src/fastpath/kernel-path.ts KCTR).
struct counters {
  __u64 rx_frames, rx_bytes, tx_frames, tx_bytes;
  __u64 malformed, rx_inactive, tx_no_port, rx_looped, slow;
};

struct map_def {
  __u32 type, key_size, value_size, max_entries, map_flags;
};

struct map_def SEC("maps") plans = {BPF_MAP_TYPE_ARRAY, 4, sizeof(struct plan), 2, 0};
struct map_def SEC("maps") gen = {BPF_MAP_TYPE_ARRAY, 4, 4, 1, 0};
struct map_def SEC("maps") stats = {BPF_MAP_TYPE_PERCPU_ARRAY, 4, sizeof(struct counters), MAX_PORTS, 0};
struct map_def SEC("maps") rr = {BPF_MAP_TYPE_PERCPU_ARRAY, 4, 4, 1, 0};
// balance-tlb/alb buckets (src/datapath/tlb.ts): 256 destination buckets, 256 source-MAC
// buckets, each an engine port or -1 (unassigned: the JavaScript datapath assigns it and writes
// the table back); and the bytes each carried, per CPU, plus [512] for frames with no bucket.
#define TLB_ENTRIES 512
struct tlb_table { __s8 port[TLB_ENTRIES]; };
struct tlb_bytes { __u64 bytes[TLB_ENTRIES + 1]; };
struct map_def SEC("maps") tlb = {BPF_MAP_TYPE_ARRAY, 4, sizeof(struct tlb_table), 1, 0};
struct map_def SEC("maps") tlb_bytes = {BPF_MAP_TYPE_PERCPU_ARRAY, 4, sizeof(struct tlb_bytes), 1, 0};

// Source MACs of frames from the TAP (the host and guests behind it): value = last seen, ns.
// Room for 16,384: an LRU hash starts evicting before it is full (its free lists are per CPU),
// and a host with 4,096 guests behind the bond must have every one announced after a failover.
struct map_def SEC("maps") local = {BPF_MAP_TYPE_LRU_HASH, 8, 8, 16384, 0};

#define LOCAL_AGE_NS (60ull * 1000000000ull)
#define LOCAL_REFRESH_NS (1000000000ull)

static __always_inline struct plan *live_plan(void) {
  __u32 k = 0;
  __u32 *g = bpf_map_lookup_elem(&gen, &k);
  if (!g) return 0;
  __u32 i = *g & 1;
  return bpf_map_lookup_elem(&plans, &i);
}

static __always_inline struct counters *ctr(__u32 port) {
  return bpf_map_lookup_elem(&stats, &port);
}

static __always_inline __u64 mac_key(const __u8 *m) {
  return (__u64)m[0] << 40 | (__u64)m[1] << 32 | (__u64)m[2] << 24 | (__u64)m[3] << 16 | (__u64)m[4] << 8 | m[5];
}

// x % n as an index below MAX_PORTS the verifier can see (clang would drop a plain mask it
// knows to be redundant).
static __always_inline __u32 pick(__u32 x, __u32 n) {
  __u32 i = x % n;
  asm volatile("" : "+r"(i));
  return i & (MAX_PORTS - 1);
}

static __always_inline __u32 be16(const __u8 *p) { return (__u32)p[0] << 8 | p[1]; }
static __always_inline __u32 le32(const __u8 *p) {
  return (__u32)p[0] | (__u32)p[1] << 8 | (__u32)p[2] << 16 | (__u32)p[3] << 24;
}

// ---- xmit_hash_policy (src/datapath/hash.ts) ----------------------------------------------

enum { P_L2, P_L34, P_L23, P_E23, P_E34, P_VLAN_SRCMAC };

struct dis {
  struct __sk_buff *skb;
  __u32 end;  // frame length
  __u32 nh;   // offset of the next header
  __u32 src, dst, ports, icmp_word, icmp_id;
  int proto;
};

static __always_inline int ld(struct dis *d, __u32 off, void *to, __u32 n) {
  if (off + n > d->end || off > 0xffff) return -1;
  return bpf_skb_load_bytes(d->skb, off, to, n);
}

static __always_inline int ports_offset(int p) {
  switch (p) {
    case 6: case 17: case 33: case 50: case 132: case 136: return 0;
    case 51: return 4;
    default: return -1;
  }
}

static __always_inline __u32 get_ports(struct dis *d, __u32 thoff, int p) {
  int po = ports_offset(p);
  __u8 b[4];
  if (po < 0 || ld(d, thoff + po, b, 4)) return 0;
  return le32(b);
}

static __always_inline void icmp_tci(struct dis *d, __u32 thoff) {
  __u8 b[8];
  if (ld(d, thoff, b, 8)) return;
  __u32 type = b[0], code = b[1];
  int has_id = type == 8 || type == 0 || type == 13 || type == 14 || type == 128 || type == 129;
  __u32 id = 0;
  if (has_id) {
    id = be16(b + 4);
    if (!id) id = 1;
  }
  d->icmp_id = id;
  d->icmp_word = type | code << 8 | id << 16;
}

static __always_inline __u32 v6fold(const __u8 *a) {
  return le32(a) ^ le32(a + 4) ^ le32(a + 8) ^ le32(a + 12);
}

static __always_inline int flow_ip(struct dis *d, __u32 et, int l34) {
  if (et == 0x0800) {
    __u8 h[20];
    if (ld(d, d->nh, h, 20)) return 0;
    d->src = le32(h + 12);
    d->dst = le32(h + 16);
    __u32 frag = be16(h + 6) & 0x3fff;
    d->nh += (h[0] & 0x0f) << 2;
    if (!frag) d->proto = h[9];
  } else if (et == 0x86dd) {
    __u8 h[40];
    if (ld(d, d->nh, h, 40)) return 0;
    d->src = v6fold(h + 8);
    d->dst = v6fold(h + 24);
    d->proto = h[6];
    d->nh += 40;
  } else {
    return 0;
  }
  if (l34 && d->proto >= 0) d->ports = get_ports(d, d->nh, d->proto);
  return 1;
}

static __always_inline int dissect_plain(struct dis *d, __u32 et, int l34) {
  if (!flow_ip(d, et, l34)) return 0;
  if (d->proto == 1 || d->proto == 58) {
    icmp_tci(d, d->nh);
    __u8 t = 0;
    if (d->nh < d->end) ld(d, d->nh, &t, 1);
    int err = d->proto == 1 ? (t == 3 || t == 4 || t == 5 || t == 11 || t == 12) : t < 128;
    if (!err) return 1;
    d->nh += 8;
    return flow_ip(d, et, l34);
  }
  return 1;
}

// Returns 1 good, 0 bad (hash on layer 2), -1 beyond this program's bounds (slow path).
// The bounds keep the verifier's work finite: deeper stacks of headers go to the JS datapath.
#ifndef ENCAP_DEPTH
#define ENCAP_DEPTH 3
#endif
#ifndef EXT_HDRS
#define EXT_HDRS 2
#endif
static __always_inline int dissect_encap(struct dis *d, __u32 et) {
  for (int depth = 0; depth < ENCAP_DEPTH; depth++) {
    int p;
    int v6 = 0;
    if (et == 0x8100 || et == 0x88a8) {
      __u8 t[4];
      if (ld(d, d->nh, t, 4)) return 0;
      et = be16(t + 2);
      d->nh += 4;
      continue;
    } else if (et == 0x0800) {
      __u8 h[20];
      if (ld(d, d->nh, h, 20) || (h[0] & 0x0f) < 5) return 0;
      d->src = le32(h + 12);
      d->dst = le32(h + 16);
      p = h[9];
      if (be16(h + 6) & 0x3fff) return 1;
      d->nh += (h[0] & 0x0f) << 2;
    } else if (et == 0x86dd) {
      __u8 h[40];
      if (ld(d, d->nh, h, 40)) return 0;
      d->src = v6fold(h + 8);
      d->dst = v6fold(h + 24);
      p = h[6];
      d->nh += 40;
      v6 = 1;
    } else if (et == 0x0806 || et == 0x8035 || et == 0x8906) {
      d->src = 0;
      d->dst = 0;
      return 1;
    } else {
      return 0;
    }
    if (v6) {
      int n;
      for (n = 0; n < EXT_HDRS; n++) {
        if (p == 0 || p == 43 || p == 60) {
          __u8 x[2];
          if (ld(d, d->nh, x, 2)) return 0;
          d->nh += ((__u32)x[1] + 1) << 3;
          p = x[0];
          continue;
        }
        break;
      }
      if (n == EXT_HDRS) return -1;
      if (p == 44) return d->nh + 8 <= d->end;
    }
    if (p == 4 || p == 41) {
      et = p == 4 ? 0x0800 : 0x86dd;
      continue;
    }
    if (p == 47) {
      __u8 g[4];
      if (ld(d, d->nh, g, 4)) return 0;
      __u32 flags = be16(g);
      if (flags & 0x4007) return 1;
      __u32 gp = be16(g + 2);
      d->nh += 4 + (flags & 0x8000 ? 4 : 0) + (flags & 0x2000 ? 4 : 0) + (flags & 0x1000 ? 4 : 0);
      if (gp == 0x6558) {
        __u8 e[14];
        if (ld(d, d->nh, e, 14)) return 0;
        et = be16(e + 12);
        d->nh += 14;
      } else {
        et = gp;
      }
      continue;
    }
    if (p == 1 || p == 58) {
      icmp_tci(d, d->nh);
      return 1;
    }
    d->ports = get_ports(d, d->nh, p);
    return 1;
  }
  return ENCAP_DEPTH == 8 ? 0 : -1;  // the JS dissector gives up after 8 headers: deeper here is its job
}

// The hash, or PUNT. `eth` holds the first 18 bytes (fewer when the frame is shorter).
static __always_inline __u32 xmit_hash(struct __sk_buff *skb, const __u8 *eth, __u32 len, __u32 policy) {
  __u32 et = be16(eth + 12);
  __u32 vlan = 0;
  struct dis d = {.skb = skb, .end = len, .nh = 14, .proto = -1};
  if (skb->vlan_present) {
    vlan = skb->vlan_tci;  // an offloaded tag: the data holds the inner EtherType already
  } else if ((et == 0x8100 || et == 0x88a8) && len >= 18) {
    vlan = be16(eth + 14);
    et = be16(eth + 16);
    d.nh = 18;
  }
  if (policy == P_VLAN_SRCMAC) {
    __u32 vendor = (__u32)eth[6] << 16 | (__u32)eth[7] << 8 | eth[8];
    __u32 dev = (__u32)eth[9] << 16 | (__u32)eth[10] << 8 | eth[11];
    return vlan ^ vendor ^ dev;
  }
  __u32 l2 = eth[5] ^ eth[11] ^ et;
  if (policy == P_L2) return l2;
  int ok;
  if (policy == P_E23 || policy == P_E34) {
    ok = dissect_encap(&d, et);
    if (ok < 0) return PUNT;
  } else {
    ok = dissect_plain(&d, et, policy == P_L34);
  }
  if (!ok) return l2;
  __u32 h = policy == P_L23 || policy == P_E23 ? l2 : d.icmp_id ? d.icmp_word : d.ports;
  h ^= d.dst ^ d.src;
  h ^= h >> 16;
  h ^= h >> 8;
  if (policy == P_L34 || policy == P_E34) h >>= 1;
  return h;
}

// ---- helpers shared by the programs ---------------------------------------------------------

// EtherType after at most one inline VLAN tag; *l3 = its offset.
static __always_inline __u32 inner_et(const __u8 *eth, __u32 len, __u32 *l3) {
  __u32 et = be16(eth + 12);
  *l3 = 14;
  if ((et == 0x8100 || et == 0x88a8) && len >= 18) {
    et = be16(eth + 16);
    *l3 = 18;
  }
  return et;
}

static __always_inline __u32 how_of(struct plan *pl, __u32 et) {
  for (int i = 0; i < MAX_ET; i++) {
    if (i >= pl->n_et) break;
    if (pl->et[i] == et) return pl->et_how[i];
  }
  return HOW_NORMAL;
}

// Sends to every port in `mask`: clones for all but the last. Returns the verdict.
static __always_inline int send_mask(struct __sk_buff *skb, struct plan *pl, __u32 mask, __u32 len) {
  int last = -1;
  for (int p = 1; p < MAX_PORTS; p++) {
    if (!(mask & (1u << p))) continue;
    if (last >= 0) {
      if (bpf_clone_redirect(skb, pl->ifindex[last], 0) == 0) {
        struct counters *c = ctr(last);
        if (c) { c->tx_frames++; c->tx_bytes += len; }
      }
    }
    last = p;
  }
  if (last < 0) return TC_ACT_SHOT;
  struct counters *c = ctr(last);
  if (c) { c->tx_frames++; c->tx_bytes += len; }
  return bpf_redirect(pl->ifindex[last], 0);
}

// ---- balance-tlb / balance-alb (Datapath.selectTlb) ----------------------------------------

static __always_inline int highest_bit(__u32 m) {
  int p = -1;
  for (int i = 0; i < MAX_PORTS; i++)
    if (m & (1u << i)) p = i;
  return p;
}

// The verdict mask, or -1 for the slow path (an unassigned bucket, or ARP balance-alb traps).
static __always_inline int tlb_select(struct __sk_buff *skb, struct plan *pl, const __u8 *eth, __u32 len, __u32 h) {
  __u32 k = 0;
  struct tlb_table *t = bpf_map_lookup_elem(&tlb, &k);
  struct tlb_bytes *tb = bpf_map_lookup_elem(&tlb_bytes, &k);
  if (!t || !tb) return -1;
  __u32 flags = pl->tlb_flags;
  const __u8 *bm = pl->tlb_bond_mac;
  if (eth[6] != bm[0] || eth[7] != bm[1] || eth[8] != bm[2] || eth[9] != bm[3] || eth[10] != bm[4] || eth[11] != bm[5]) {
    // a guest behind a bridge on the TAP: by source-MAC bucket, never rewritten
    __u32 b = 256 + (eth[6] ^ eth[7] ^ eth[8] ^ eth[9] ^ eth[10] ^ eth[11]);
    int p = t->port[b & (TLB_ENTRIES - 1)];
    if (p < 0 || !(pl->tlb_usable & (1u << (p & 31)))) return -1;
    tb->bytes[b & (TLB_ENTRIES - 1)] += len;
    return 1u << (p & 31);
  }
  int bucket = -1;
  if (!(eth[0] & 1)) {
    __u32 l3;
    __u32 et = inner_et(eth, len, &l3);
    if (et == 0x0806) {
      if (flags & TLB_TRAP_ARP) return -1;
    } else if (et == 0x0800 && l3 + 20 <= len) {
      __u8 ip[20];
      if (bpf_skb_load_bytes(skb, l3, ip, 20)) return -1;
      if (ip[9] != 2 && !(ip[16] == 255 && ip[17] == 255 && ip[18] == 255 && ip[19] == 255))
        bucket = flags & TLB_ALB ? ip[16] ^ ip[17] ^ ip[18] ^ ip[19] : h & 0xff;
    } else if (et == 0x86dd && l3 + 40 <= len) {
      __u8 ip[40];
      if (bpf_skb_load_bytes(skb, l3, ip, 40)) return -1;
      int nd = 0;
      if (ip[6] == 58 && l3 + 41 <= len) {
        __u8 t6;
        if (bpf_skb_load_bytes(skb, l3 + 40, &t6, 1)) return -1;
        nd = t6 >= 133 && t6 <= 137;
      }
      if (!nd) {
        __u32 x = 0;
        for (int i = 24; i < 40; i++) x ^= ip[i];
        bucket = flags & TLB_ALB ? x : h & 0xff;
      }
    }
    if (bucket >= 0) {
      int p;
      if (flags & TLB_DYNAMIC) {
        p = t->port[bucket & 0xff];
        if (p < 0 || !(pl->tlb_usable & (1u << (p & 31)))) return -1;
      } else {
        __u32 n = pl->nmasks;
        p = n > 0 && n <= MAX_PORTS ? highest_bit(pl->masks[pick(h, n)]) : -1;
      }
      if (p >= 0) {
        p &= 31;
        if (p != pl->tlb_active && bpf_skb_store_bytes(skb, 6, pl->port_macs + p * 6, 6, 0)) return -1;
        if (flags & TLB_DYNAMIC) tb->bytes[bucket & 0xff] += len;
        return 1u << p;
      }
    }
  }
  tb->bytes[TLB_ENTRIES] += len;  // left through the active port without a bucket
  return pl->mask;
}

// ---- transmit: TAP egress -------------------------------------------------------------------

// The slave whose queue id the frame's queue mapping names, when it may send (0: none). As in the
// kernel, the first slave with that id decides: up, it takes the frame; down, the mode does.
static __always_inline __u32 queue_override(struct __sk_buff *skb, struct plan *pl) {
  __u32 q = skb->queue_mapping;
  if (!q) return 0;
  for (int p = 1; p < MAX_PORTS; p++)
    if (pl->qid[p] == q) return pl->q_up & (1u << p);
  return 0;
}

// `first`: the program that meets the frame first on the TAP's egress (tx). With queue ids it
// sets the queue mapping the kernel's bond_select_queue() would (the recorded receive queue, or
// 0, modulo tx_queues; a forwarded frame carries its receive queue + 1), and when tx_after is
// there hands the frame on to the user's classifiers (TC_ACT_UNSPEC), which tx_after follows.
static __always_inline int transmit(struct __sk_buff *skb, int first) {
  struct plan *pl = live_plan();
  struct counters *tap = ctr(0);
  if (!pl || !tap) return TC_ACT_OK;
  __u32 txq = pl->q_txq;
  if (first && txq) {
    __u32 q = skb->queue_mapping;
    skb->queue_mapping = q ? (q - 1) % txq : 0;
    if (pl->q_after) return TC_ACT_UNSPEC;
  }
  __u32 len = skb->len;
  __u8 eth[18] = {};
  if (len < 14 || bpf_skb_load_bytes(skb, 0, eth, len < 18 ? 14 : 18)) {
    tap->malformed++;
    skb->cb[0] = 0;
    return TC_ACT_SHOT;
  }
  // learn the source (refreshed at most once a second per MAC). The coarse clock (CLOCK_MONOTONIC
  // at tick resolution) is plenty for a 1 s refresh and a 60 s age, and costs a memory read where
  // bpf_ktime_get_ns() reads the clock source: about 25 ns of a frame's ~80 in this program here.
  __u64 now = bpf_ktime_get_coarse_ns();
  __u64 key = mac_key(eth + 6);
  __u64 *seen = bpf_map_lookup_elem(&local, &key);
  if (!seen || now - *seen > LOCAL_REFRESH_NS) bpf_map_update_elem(&local, &key, &now, BPF_ANY);

  __u32 mask = 0;
  __u32 l3;
  // one inlined copy of the hash for every kind that needs it (the verifier walks it once)
  __u32 h = 0;
  __u32 kind = pl->kind;
  if (txq) {
    mask = queue_override(skb, pl);
    if (mask) goto send;
  }
  if (kind == K_HASH || (kind == K_TLB && (pl->tlb_flags & (TLB_ALB | TLB_DYNAMIC)) != (TLB_ALB | TLB_DYNAMIC))) {
    h = xmit_hash(skb, eth, len, pl->policy);
    if (h == PUNT) goto slow;
  }
  switch (kind) {
    case K_SINGLE:
    case K_ALL:
      mask = pl->mask;
      break;
    case K_HASH: {
      __u32 n = pl->nmasks;
      if (pl->neighbor_mask) {
        __u32 et = inner_et(eth, len, &l3);
        int nb = et == 0x0806;
        if (!nb && et == 0x86dd && l3 + 41 <= len) {
          __u8 nx, t;
          if (!bpf_skb_load_bytes(skb, l3 + 6, &nx, 1) && !bpf_skb_load_bytes(skb, l3 + 40, &t, 1))
            nb = nx == 58 && (t == 135 || t == 136);
        }
        if (nb) {
          mask = pl->neighbor_mask;
          break;
        }
      }
      skb->cb[1] = h;
      if (n > 0 && n <= MAX_PORTS) mask = pl->masks[pick(h, n)];
      break;
    }
    case K_RR: {
      __u32 et = inner_et(eth, len, &l3);
      if (et == 0x0800 && l3 + 10 <= len) {
        __u8 proto;
        if (!bpf_skb_load_bytes(skb, l3 + 9, &proto, 1) && proto == 2) {
          mask = pl->igmp_mask;
          break;
        }
      }
      __u32 k = 0;
      __u32 *cnt = bpf_map_lookup_elem(&rr, &k);
      if (!cnt) goto slow;
      __u32 per = pl->per_port, slot;
      if (per == 0)
        slot = bpf_get_prandom_u32() & 0x7fffffff;
      else
        slot = per == 1 ? *cnt : *cnt / per;
      __u32 c1 = *cnt + 1;
      *cnt = c1 > 0x3fffffff ? 0 : c1;
      __u32 n = pl->nmasks;
      if (n > 0 && n <= MAX_PORTS) mask = pl->masks[pick(slot, n)];
      break;
    }
    case K_TLB: {
      int r = tlb_select(skb, pl, eth, len, h);
      if (r < 0) goto slow;
      mask = r;
      break;
    }
    case K_SLOW:
      goto slow;
    default:
      break;
  }
send:
  skb->cb[0] = mask;
  if (!mask) {
    tap->tx_no_port++;
    return TC_ACT_SHOT;
  }
  tap->rx_frames++;
  tap->rx_bytes += len;
  return send_mask(skb, pl, mask, len);
slow:
  tap->slow++;
  skb->cb[0] = PUNT;
  return TC_ACT_OK;  // to the TAP's fd: the JavaScript datapath decides
}

SEC("tc/tx")
int tx(struct __sk_buff *skb) {
  return transmit(skb, 1);
}

SEC("tc/tx_after")
int tx_after(struct __sk_buff *skb) {
  return transmit(skb, 0);
}

// ---- receive: slave ingress -----------------------------------------------------------------

static __always_inline int port_of(struct plan *pl, __u32 ifindex) {
  for (int p = 1; p < MAX_PORTS; p++)
    if (pl->ifindex[p] == ifindex) return p;
  return -1;
}

SEC("tc/rx")
int rx(struct __sk_buff *skb) {
  struct plan *pl = live_plan();
  if (!pl) return TC_ACT_SHOT;
  int port = port_of(pl, skb->ifindex);
  if (port < 0) return TC_ACT_SHOT;  // not (or no longer) a slave: still blind to the stack
  struct counters *c = ctr(port);
  struct counters *tap = ctr(0);
  if (!c || !tap) return TC_ACT_SHOT;
  skb->cb[0] = 0;
  __u32 len = skb->len;
  __u8 eth[18] = {};
  if (len < 14 || bpf_skb_load_bytes(skb, 0, eth, len < 18 ? 14 : 18)) {
    c->malformed++;
    return TC_ACT_SHOT;
  }
  __u32 l3;
  __u32 how = how_of(pl, inner_et(eth, len, &l3));
  if (how == HOW_CONSUME) return TC_ACT_SHOT;  // the mode's own (its socket copy is the slow path)
  if (how == HOW_NORMAL) {                     // trapped frames were counted by the socket side
    c->rx_frames++;
    c->rx_bytes += len;
  }
  int group = eth[0] & 1;
  __u32 dl = pl->deliver[port & (MAX_PORTS - 1)];
  if (dl == DELIVER_NONE || (dl == DELIVER_UNICAST && group)) {
    c->rx_inactive++;
    return TC_ACT_SHOT;
  }
  __u64 key = mac_key(eth + 6);
  __u64 *seen = bpf_map_lookup_elem(&local, &key);
  if (seen && bpf_ktime_get_coarse_ns() - *seen <= LOCAL_AGE_NS) {
    c->rx_looped++;
    return TC_ACT_SHOT;
  }
  if (!group && pl->rewrite_n) {
    for (int m = 0; m < MAX_PORTS; m++) {
      if (m >= pl->rewrite_n) break;
      const __u8 *r = pl->rewrite_macs + m * 6;
      if (eth[0] == r[0] && eth[1] == r[1] && eth[2] == r[2] && eth[3] == r[3] && eth[4] == r[4] && eth[5] == r[5]) {
        bpf_skb_store_bytes(skb, 0, pl->bond_mac, 6, 0);
        break;
      }
    }
  }
  tap->tx_frames++;
  tap->tx_bytes += len;
  skb->cb[0] = 1;
  return bpf_redirect(pl->tap_ifindex, BPF_F_INGRESS);
}

// ---- the AF_PACKET sockets' filter: only what the mode must see -----------------------------

SEC("socket/slow")
int slow(struct __sk_buff *skb) {
  struct plan *pl = live_plan();
  if (!pl) return 0;
  __u8 eth[18] = {};
  __u32 len = skb->len;
  if (len < 14 || bpf_skb_load_bytes(skb, 0, eth, len < 18 ? 14 : 18)) return 0;
  __u32 l3;
  // an offloaded VLAN tag: the data holds the inner EtherType already
  return how_of(pl, inner_et(eth, len, &l3)) != HOW_NORMAL ? len : 0;
}

char LICENSE[] SEC("license") = "GPL";
