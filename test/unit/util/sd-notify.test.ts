// systemd's notify protocol and the STATUS line.
import { describe, expect, it } from 'vitest';
import { statusLine } from '../../../src/daemon.js';
import { listenFds, sdNotifier } from '../../../src/util/sd-notify.js';
import { inheritedTapFds, TAP_FDS_ENV } from '../../../src/handover.js';
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

  it('the fd store: FDSTORE=1 with the fd attached under a name, FDSTOREREMOVE=1 by name; nothing outside systemd', () => {
    const sent: { path: string; text: string; fds?: number[] }[] = [];
    const send = (path: string, d: Uint8Array) => void sent.push({ path, text: Buffer.from(d).toString() });
    const sendFds = (path: string, d: Uint8Array, fds: number[]) => void sent.push({ path, text: Buffer.from(d).toString(), fds });
    expect(sdNotifier(send, {}, sendFds).storeFd('tap-bond0', 9)).toBe(false);
    expect(sent).toEqual([]);
    const on = sdNotifier(send, { NOTIFY_SOCKET: '/run/systemd/notify' }, sendFds);
    on.removeFd('tap-bond0');
    expect(on.storeFd('tap-bond0', 9)).toBe(true);
    expect(sent).toEqual([
      { path: '/run/systemd/notify', text: 'FDSTOREREMOVE=1\nFDNAME=tap-bond0' },
      { path: '/run/systemd/notify', text: 'FDSTORE=1\nFDNAME=tap-bond0', fds: [9] },
    ]);
  });

  it('LISTEN_FDS: the fds from 3 on, by LISTEN_FDNAMES, only for the pid they are meant for; the variables go', () => {
    const env: NodeJS.ProcessEnv = { LISTEN_PID: '42', LISTEN_FDS: '3', LISTEN_FDNAMES: 'tap-bond0:tap-bond1:tap-bond0' };
    expect([...listenFds(env, 42)]).toEqual([
      ['tap-bond0', [3, 5]],
      ['tap-bond1', [4]],
    ]);
    expect(env).toEqual({});
    expect([...listenFds({ LISTEN_PID: '41', LISTEN_FDS: '1', LISTEN_FDNAMES: 'tap-bond0' }, 42)]).toEqual([]);
  });

  it("a reload's TAP fds cross execve in one variable, which is then removed", () => {
    const env: NodeJS.ProcessEnv = { [TAP_FDS_ENV]: 'bond0=7,bond1=8,junk' };
    expect([...inheritedTapFds(env)]).toEqual([
      ['bond0', 7],
      ['bond1', 8],
    ]);
    expect(env).toEqual({});
  });
});
