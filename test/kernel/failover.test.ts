// What each bond sends on the new link after its active link fails: the kernel's active-backup
// bond in the oracle guest, tapbond's over the guest's TAPs, same options and the same kinds of
// addresses. tcpdump on the link they fail over to counts gratuitous ARPs, unsolicited NAs and
// MLD/IGMP reports, and when each came.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { mustSkip, skipReason, sleep } from '../helpers/lab.js';
import { capture, oracleLab, oracleSkipReason } from '../helpers/oracle.js';

const reason = skipReason() || oracleSkipReason();
const OPTS = 'mode=active-backup miimon=50 num_grat_arp=1 num_unsol_na=1 resend_igmp=1';

/** The announcement a frame is, or null. */
function announcement(f: Buffer): string | null {
  const et = f.readUInt16BE(12);
  if (et === 0x0806 && f.readUInt16BE(20) === 1 && f.subarray(28, 32).equals(f.subarray(38, 42))) return 'garp';
  if (et === 0x0800 && f[23] === 2) return 'igmp';
  if (et !== 0x86dd) return null;
  if (f[20] === 58 && f[54] === 136) return 'na';
  if (f[20] === 0 && f[54] === 58) return { 143: 'mld2', 131: 'mld1' }[f[62]] ?? null;
  return null;
}

describe.skipIf(mustSkip(reason))('failover announcements against the kernel', () => {
  const { lab, guest } = oracleLab('kf', 2);

  /** Announcements from `mac` seen on kt1 within 2 s of `cut()`, by kind, with their delays. */
  const after = async (mac: string, dir: 'in' | 'out', cut: () => Promise<void>, tag: string) => {
    const stop = await capture(lab, 'kt1', join(lab.runDir, `failover-${tag}.pcap`), `-Q ${dir} ether src ${mac}`);
    const t0 = Date.now() / 1000;
    await cut();
    await sleep(2000);
    const frames = await stop();
    const seen: Record<string, number[]> = {};
    for (const { t, f } of frames) {
      const k = announcement(Buffer.from(f));
      if (k && t >= t0) (seen[k] ??= []).push(Math.round((t - t0) * 1000));
    }
    return seen;
  };

  it('after the cut: as many gratuitous ARPs, unsolicited NAs and MLD reports as the kernel', async () => {
    await guest.sh(`mkbond bond0 "${OPTS}" eth0 eth1 && ip addr add 198.18.0.11/24 dev bond0 && ip addr add 2001:db8::11/64 dev bond0`);
    await lab.startBondd(['--name', 'bond0', '--slaves', 'kt0,kt1', ...OPTS.split(' ')]);
    try {
      lab.sh(lab.srv, 'ip addr add 198.18.0.10/24 dev bond0 && ip addr add 2001:db8::10/64 dev bond0 nodad');
      await sleep(1500);
      // the guest's active link fails (its NIC's carrier): the kernel fails over to eth1
      const kernel = await after(guest.macs[0], 'in', () => guest.setLink(0, false), 'kernel');
      await guest.setLink(0, true);
      await sleep(500);
      // our active link fails (the TAP goes down): tapbond fails over to kt1
      const ours = await after(lab.link(lab.srv, 'bond0').address, 'out', async () => void lab.sh(lab.srv, 'ip link set kt0 down'), 'ours');
      console.log(`after the cut (ms): kernel ${JSON.stringify(kernel)}, tapbond ${JSON.stringify(ours)}`);
      for (const k of ['garp', 'na', 'mld2', 'mld1', 'igmp']) expect(ours[k]?.length ?? 0, k).toBe(kernel[k]?.length ?? 0);
      expect(kernel.garp?.length).toBe(1);
      expect(kernel.mld2?.length).toBe(1);
      // all of them within a few miimon intervals of the cut
      for (const d of Object.values(ours).flat()) expect(d).toBeLessThan(500);
    } finally {
      await lab.stopBondd();
      await guest.sh('rmbond bond0');
    }
  }, 90_000);
});
