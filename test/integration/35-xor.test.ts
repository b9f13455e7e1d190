// balance-xor on the wire: real UDP flows leave on the slave that the golden-vector oracle
// (scripts/gen-hash-vectors.py, independent of src/datapath/hash.ts) predicts, counted on the
// switch ports; a slave failure remaps them by hash % new count.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { frameFromSpec } from '../../src/net/frame-spec.js';
import { have, Lab, ROOT, skipReason, waitFor, mustSkip } from '../helpers/lab.js';

const reason = skipReason() || (have('python3') ? '' : 'needs python3');

function oracle(policy: string, frame: Uint8Array): number {
  const r = spawnSync('python3', [join(ROOT, 'scripts', 'gen-hash-vectors.py'), '--oracle', policy, Buffer.from(frame).toString('hex')], {
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(r.stderr);
  return Number(r.stdout.trim());
}

describe.skipIf(mustSkip(reason))('balance-xor placement on the wire', () => {
  const lab = new Lab('x');
  beforeAll(() => lab.up(3));
  afterAll(() => lab.down());

  it('matches the oracle for layer3+4 and remaps on a slave failure', async () => {
    await lab.startBondd(['--name', 'bond0', '--slaves', 's0,s1,s2', 'mode=balance-xor', 'miimon=100', 'xmit_hash_policy=layer3+4']);
    try {
      await lab.addressBond();
      lab.sh(lab.srv, 'ping -c 2 -i 0.05 198.18.0.2 >/dev/null');
      const bondMac = lab.link(lab.srv, 'bond0').address;
      const cliMac = lab.link(lab.cli, 'eth0').address;
      const sports = Array.from({ length: 12 }, (_, i) => 30000 + i * 7);
      const check = (slaves: string[]) => {
        const seen: Record<string, number> = {};
        for (const sp of sports) {
          const before = slaves.map((s) => lab.stats(lab.sw, s.replace('s', 'p')).rx_packets);
          lab.sh(
            lab.srv,
            `python3 -c "import socket; s=socket.socket(2,2); s.bind(('198.18.0.1',${sp})); [s.sendto(b'x'*20,('198.18.0.2',9)) for _ in range(40)]"`,
          );
          const after = slaves.map((s) => lab.stats(lab.sw, s.replace('s', 'p')).rx_packets);
          const got = slaves[after.findIndex((a, i) => a - before[i] >= 40)];
          const frame = frameFromSpec([
            `smac=${bondMac}`,
            `dmac=${cliMac}`,
            'sip=198.18.0.1',
            'dip=198.18.0.2',
            'proto=udp',
            `sport=${sp}`,
            'dport=9',
          ]);
          const want = slaves[oracle('layer3+4', frame) % slaves.length];
          expect(got, `sport ${sp}`).toBe(want);
          // bondctl hash agrees with the wire
          expect(
            lab.bondctl(['hash', 'bond0', '--json', `smac=${bondMac}`, `dmac=${cliMac}`, 'proto=udp', `sport=${sp}`, 'dport=9']).out,
          ).toContain(`"port": "${want}"`);
          seen[got] = (seen[got] ?? 0) + 1;
        }
        return seen;
      };
      const all = check(['s0', 's1', 's2']);
      expect(Object.keys(all).length).toBeGreaterThanOrEqual(2); // 12 flows spread
      lab.sh(lab.sw, 'ip link set p1 down');
      await waitFor(() => lab.state().ports[1].mii_status === 'down', 3000, 's1 down');
      check(['s0', 's2']);
      expect(lab.bondctl(['show', 'bond0']).out).toContain('Transmit Hash Policy: layer3+4 (1)');
    } finally {
      lab.sh(lab.sw, 'ip link set p1 up');
      await lab.stopBondd();
    }
  });
});
