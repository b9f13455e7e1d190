#!/usr/bin/env node
// Prints how many eBPF programs are attached with TCX to each interface named, as
// `NAME INGRESS EGRESS` lines (BPF_PROG_QUERY through the addon: no bpftool needed). Run it
// inside the namespace of the interfaces (`ip netns exec NS node tcx-programs.mjs s0 s1`).
import { createRequire } from 'node:module';
import { join } from 'node:path';

const b = createRequire(import.meta.url)(join(import.meta.dirname, '..', '..', 'build', 'Release', 'tapbond.node'));
const BPF_TCX_INGRESS = 46;
const BPF_TCX_EGRESS = 47;
for (const name of process.argv.slice(2)) {
  const { ifindex } = b.linkInfo(name);
  process.stdout.write(`${name} ${b.bpfProgQuery(ifindex, BPF_TCX_INGRESS)} ${b.bpfProgQuery(ifindex, BPF_TCX_EGRESS)}\n`);
}
