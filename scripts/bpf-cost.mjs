#!/usr/bin/env node
// The kernel fast path's cost per frame, as the kernel's own test runner times it
// (BPF_PROG_TEST_RUN with a repeat count: the mean ns of one run of the program over the frame,
// no device involved). The transmit program under each plan kind and a few frame classes, the
// receive program, and two floors loaded beside them: a program that only returns, and one that
// only redirects (what a bond with no policy at all would cost). Needs root or CAP_BPF and
// CAP_PERFMON; touches no interface. Prints a table; `npm run bpf-cost` also writes
// docs/results/bpf-cost-*.json.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeResult } from './lib/results.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const REPEAT = Number(process.env.BPF_COST_REPEAT ?? 200_000);
const ROUNDS = Number(process.env.BPF_COST_ROUNDS ?? 5);
const { loadBinding } = await import(join(ROOT, 'dist/native/binding.js'));
const { KernelPath, BPF_PROG_TYPE_SCHED_CLS } = await import(join(ROOT, 'dist/fastpath/kernel-path.js'));
const { rxPlan } = await import(join(ROOT, 'dist/datapath/plan.js'));
const { policyId } = await import(join(ROOT, 'dist/datapath/hash.js'));

/**
 * An Ethernet/IPv4 or IPv6 frame with a UDP or TCP header and `payload` bytes.
 * @param {4 | 6} v
 * @param {'udp' | 'tcp'} l4
 * @param {number} payload
 */
function frame(v, l4, payload) {
  const l4len = l4 === 'udp' ? 8 : 20;
  const ipLen = v === 4 ? 20 : 40;
  const f = Buffer.alloc(14 + ipLen + l4len + payload);
  Buffer.from('020000000002020000000001', 'hex').copy(f, 0);
  f.writeUInt16BE(v === 4 ? 0x0800 : 0x86dd, 12);
  const proto = l4 === 'udp' ? 17 : 6;
  if (v === 4) {
    f[14] = 0x45;
    f.writeUInt16BE(ipLen + l4len + payload, 16);
    f[22] = 64;
    f[23] = proto;
    Buffer.from([198, 18, 0, 1, 198, 18, 0, 2]).copy(f, 26);
  } else {
    f[14] = 0x60;
    f.writeUInt16BE(l4len + payload, 18);
    f[20] = proto;
    f[21] = 64;
    Buffer.from('20010db8000000000000000000000001', 'hex').copy(f, 22);
    Buffer.from('20010db8000000000000000000000002', 'hex').copy(f, 38);
  }
  const l4at = 14 + ipLen;
  f.writeUInt16BE(40000, l4at);
  f.writeUInt16BE(5201, l4at + 2);
  if (l4 === 'tcp') f[l4at + 12] = 0x50;
  else f.writeUInt16BE(l4len + payload, l4at + 4);
  return new Uint8Array(f.buffer, f.byteOffset, f.length);
}

/** struct __sk_buff as the test runner takes it (ifindex at 40). */
function ctx(ifindex = 0) {
  const c = new Uint8Array(68);
  new DataView(c.buffer).setUint32(40, ifindex, true);
  return c;
}

/** @param {number[][]} insns [opcode, regs, off, imm] each */
function program(insns) {
  const b = Buffer.alloc(insns.length * 8);
  insns.forEach(([op, regs, off, imm], i) => {
    b[i * 8] = op;
    b[i * 8 + 1] = regs;
    b.writeInt16LE(off, i * 8 + 2);
    b.writeInt32LE(imm, i * 8 + 4);
  });
  return new Uint8Array(b.buffer, b.byteOffset, b.length);
}

const bpf = loadBinding();
const k = KernelPath.load(bpf);
for (let p = 0; p <= 2; p++) k.describePort(p, p + 1);
// with queue ids: tc attachment to a stand-in that attaches nothing, so tx_after counts as there
const kq = KernelPath.load(bpf);
kq.attachTap(1, { egress: () => {}, ingress: () => ({ ifindex: 0, createdQdisc: false }) }, 'tc');
for (let p = 1; p <= 2; p++) kq.describePort(p, p + 1);
const queues = { txQueues: 16, ids: Uint8Array.from({ length: 32 }, (_, p) => (p === 2 ? 1 : 0)), upMask: 4 };
// mov r0, 0; exit                                          (TC_ACT_OK)
const floor = bpf.bpfProgLoad(
  BPF_PROG_TYPE_SCHED_CLS,
  program([
    [0xb7, 0, 0, 0],
    [0x95, 0, 0, 0],
  ]),
  'GPL',
  'floor',
  0,
);
// mov r1, 2; mov r2, 0; call bpf_redirect; exit              (TC_ACT_REDIRECT to ifindex 2)
const redirect = bpf.bpfProgLoad(
  BPF_PROG_TYPE_SCHED_CLS,
  program([
    [0xb7, 0x01, 0, 2],
    [0xb7, 0x02, 0, 0],
    [0x85, 0, 0, 23],
    [0x95, 0, 0, 0],
  ]),
  'GPL',
  'redirect',
  0,
);

const frames = {
  'IPv4 UDP, 64 B': frame(4, 'udp', 18),
  'IPv4 TCP, 1514 B': frame(4, 'tcp', 1460),
  'IPv6 UDP, 82 B': frame(6, 'udp', 20),
};
/** @type {[string, object][]} */
const plans = [
  ['active-backup (single)', { kind: 'single', mask: 2 }],
  ['balance-xor layer3+4 (hash)', { kind: 'hash', masks: Uint32Array.of(2, 4), policy: policyId('layer3+4') }],
  ['balance-rr (round-robin)', { kind: 'round-robin', masks: Uint32Array.of(2, 4), perPort: 1, igmpMask: 2 }],
];

/**
 * The median over ROUNDS of the mean ns per run.
 * @param {number} fd
 * @param {Uint8Array} f
 * @param {Uint8Array | null} c
 */
function ns(fd, f, c) {
  const xs = [];
  for (let i = 0; i < ROUNDS; i++) xs.push(bpf.bpfProgTestRun(fd, f, c, REPEAT).duration);
  return xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
}

/** @type {{ program: string, plan: string, frame: string, ns: number }[]} */
const rows = [];
for (const [name, f] of Object.entries(frames)) {
  rows.push({ program: 'floor: return only', plan: '-', frame: name, ns: ns(floor, f, ctx()) });
  rows.push({ program: 'floor: redirect only', plan: '-', frame: name, ns: ns(redirect, f, ctx()) });
  for (const [label, tx] of plans) {
    k.publish(tx, rxPlan(32, [1, 2]));
    rows.push({ program: 'tapbond transmit', plan: label, frame: name, ns: ns(k.prog('tx'), f, ctx()) });
  }
  rows.push({ program: 'tapbond receive', plan: 'delivering port', frame: name, ns: ns(k.prog('rx'), f, ctx(2)) });
  // a slave with a queue_id: tx sets the mapping and hands on, tx_after (after the user's
  // classifiers, none here: the test runner's mapping is 0) decides
  kq.publish({ ...plans[0][1], queues }, rxPlan(32, [1, 2]));
  rows.push({ program: 'tapbond transmit', plan: 'active-backup, queue ids', frame: name, ns: ns(kq.prog('tx'), f, ctx()) });
  rows.push({ program: 'tapbond tx_after', plan: 'active-backup, queue ids', frame: name, ns: ns(kq.prog('tx_after'), f, ctx()) });
}
k.close();
kq.close();
bpf.closeFd(floor);
bpf.closeFd(redirect);

const w = [20, 28, 16];
process.stdout.write(`| program | plan | frame | ns |\n|---|---|---|---|\n`);
for (const r of rows) process.stdout.write(`| ${r.program.padEnd(w[0])} | ${r.plan.padEnd(w[1])} | ${r.frame.padEnd(w[2])} | ${r.ns} |\n`);
const file = writeResult('bpf-cost', 'npm run bpf-cost', { repeat: REPEAT, rounds: ROUNDS, rows });
if (file) process.stdout.write(`\nJSON: ${file}\n`);
