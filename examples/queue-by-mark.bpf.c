// A transmit classifier for a tapbond bond's queue_id, where the kernel has no `skbedit` action:
// it sets a frame's queue mapping from its firewall mark (marks 1..255; any other mark, or none,
// leaves the mapping alone), so an nftables rule picks the queue and with it the slave.
//
//   tc filter add dev bond0 egress bpf da obj examples/queue-by-mark.bpf.o sec tc
//   nft add table inet qmap
//   nft add chain inet qmap out '{ type route hook output priority mangle; }'
//   nft add rule inet qmap out ip daddr 198.18.0.9 meta mark set 2
//
// It returns TC_ACT_UNSPEC: the next filter (tapbond's tx_after) decides where the frame goes.
// Build: npm run build:bpf (the object is committed). See docs/options.md, "queue_id".
#include <linux/bpf.h>
#include <linux/pkt_cls.h>

__attribute__((section("tc"), used)) int queue_by_mark(struct __sk_buff *skb) {
  __u32 mark = skb->mark;
  if (mark >= 1 && mark <= 255) skb->queue_mapping = mark;
  return TC_ACT_UNSPEC;
}

char LICENSE[] __attribute__((section("license"), used)) = "GPL";
