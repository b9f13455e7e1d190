// systemd's notify protocol and the STATUS line.
import { describe, expect, it } from 'vitest';
import { statusLine } from '../../../src/daemon.js';
import { sdNotifier } from '../../../src/util/sd-notify.js';
import { fakeBond } from '../../helpers/fake-bond.js';
describe('sd_notify', () => {
  it('sends READY/STATUS datagrams only under systemd, watchdog at half the interval', () => {
    const sent: { path: string; text: string }[] = [];
    const send = (path: string, d: Uint8Array) => void sent.push({ path, text: Buffer.from(d).toString() });
    const off = sdNotifier(send, {});
    off.notify({ READY: 1 });
    expect(off.enabled).toBe(false);
    expect(sent).toHaveLength(0);
    const on = sdNotifier(send, { NOTIFY_SOCKET: '@/org/test', WATCHDOG_USEC: '10000000' });
    on.notify({ READY: 1, STATUS: 'bond0 active-backup 2/2 up' });
    expect(sent).toEqual([{ path: '@/org/test', text: 'READY=1\nSTATUS=bond0 active-backup 2/2 up' }]);
    expect(on.watchdogMs).toBe(5000);
    expect(sdNotifier(send, { NOTIFY_SOCKET: '/x', WATCHDOG_USEC: '1000000', WATCHDOG_PID: '1' }).watchdogMs).toBeNull();
  });

  it('status line summarises each bond', () => {
    const { bond } = fakeBond({ mode: 'active-backup', miimon: 100 }, ['s0', 's1']);
    expect(statusLine([bond])).toBe('bond0 active-backup 2/2 up, active s0');
  });
});
