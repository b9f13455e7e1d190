// balance-alb's receive balancing against the kernel's: a kernel balance-alb bond in the oracle
// guest and tapbond's, both on one bridge with a crowd of clients (AF_PACKET, one MAC and IP
// each, scripts/lib/scale-frames.py). Each client ARPs for each bond's address and keeps the MAC
// the answer teaches it: its ARP cache. Both bonds must hand each client the same slave.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { mustSkip, ROOT, skipReason, sleep } from '../helpers/lab.js';
import { oracleLab, oracleSkipReason } from '../helpers/oracle.js';

const reason = skipReason() || oracleSkipReason();
const CLIENTS = 16;

describe.skipIf(mustSkip(reason))('balance-alb receive balancing against the kernel', () => {
  // one bridge in the server namespace: the guest's NICs, tapbond's slaves (in the client
  // namespace, bondd's), and the crowd's port
  const { lab, guest } = oracleLab('ka', 2, (lab) => {
    const s = lab.srv;
    lab.sh(s, 'ip link add sw type bridge stp_state 0 forward_delay 0 && ip link set sw up');
    lab.sh(s, 'for t in kt0 kt1; do ip link set $t master sw; done');
    const ip = (args: string) => execFileSync('ip', args.split(' '), { stdio: 'pipe' });
    ip(`netns add ${lab.cli}`);
    ip(`-n ${lab.cli} link set lo up`);
    for (const i of [0, 1]) {
      ip(`-n ${s} link add p${i} type veth peer name s${i} netns ${lab.cli}`);
      ip(`-n ${s} link set p${i} master sw up`);
    }
    lab.sh(s, 'ip link add cr type veth peer name crp && ip link set crp master sw up && ip link set cr up');
  });
  /** What each client was taught for `ip`, in client order. */
  const crowd = (ip: string): { answered: number; taught: Record<string, number>; order: (string | null)[] } =>
    JSON.parse(lab.sh(lab.srv, `timeout 30 python3 ${join(ROOT, 'scripts/lib/scale-frames.py')} alb cr ${CLIENTS} ${ip} 0 200`));

  it(`${CLIENTS} clients are spread over the slaves as the kernel spreads them`, async () => {
    await guest.sh('mkbond bond0 "mode=balance-alb miimon=100" eth0 eth1 && ip addr add 198.18.0.11/16 dev bond0');
    await lab.startBondd(['--name', 'bond0', '--slaves', 's0,s1', 'mode=balance-alb', 'miimon=100'], 'bond0', lab.cli);
    lab.sh(lab.cli, 'ip addr add 198.18.0.10/16 dev bond0');
    await sleep(1500);
    const kernel = crowd('198.18.0.11');
    const ours = crowd('198.18.0.10');
    console.log(`taught: kernel ${JSON.stringify(kernel.taught)}, tapbond ${JSON.stringify(ours.taught)}`);
    expect(kernel.answered).toBe(CLIENTS);
    expect(ours.answered).toBe(CLIENTS);
    // the kernel's slaves by its MACs, ours by theirs: slave index per client, side by side
    const kernelSlave = (m: string | null) => guest.macs.indexOf(m ?? '');
    const ourMacs = [0, 1].map((i) => lab.link(lab.cli, `s${i}`).address);
    const ourSlave = (m: string | null) => ourMacs.indexOf(m ?? '');
    const k = kernel.order.map(kernelSlave);
    const o = ours.order.map(ourSlave);
    expect(k.every((i) => i >= 0)).toBe(true);
    expect(o.every((i) => i >= 0)).toBe(true);
    // client by client, the same slave (round robin from the first, as rlb_next_rx_slave)
    console.log(`slave per client: kernel ${k.join('')}, tapbond ${o.join('')}`);
    expect(o).toEqual(k);
    expect([0, 1].map((i) => o.filter((x) => x === i).length)).toEqual([CLIENTS / 2, CLIENTS / 2]);
  }, 90_000);
});
