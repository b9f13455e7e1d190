// The control socket over a real unix socket, with a whole bond behind it (in-memory binding):
// the method table, error replies that keep their codes, bad requests, and many requests on one
// connection answered in order.
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { call } from '../../../src/control/client.js';
import { METHODS } from '../../../src/control/methods.js';
import { ControlServer, DEFAULT_LIMITS, type ControlAccess, type ControlLimits } from '../../../src/control/server.js';
import { ProcessStats } from '../../../src/util/process-stats.js';
import { MemoryLogger } from '../../../src/util/logger.js';
import { fakeBond } from '../../helpers/fake-bond.js';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

async function serve(limits: Partial<ControlLimits> = {}, access?: ControlAccess) {
  const b = fakeBond({ mode: 'active-backup', miimon: 100 }, ['s0', 's1']);
  const dir = mkdtempSync(join(tmpdir(), 'tb-ctl-'));
  const stats = new ProcessStats();
  cleanups.push(() => stats.stop());
  const server = new ControlServer(
    b.bond,
    dir,
    new MemoryLogger(),
    { process: () => stats.read() },
    { ...DEFAULT_LIMITS, ...limits },
    access,
  );
  await server.listen();
  cleanups.push(() => {
    server.close();
    b.bond.delete();
    rmSync(dir, { recursive: true, force: true });
  });
  return { ...b, server };
}

/** Raw lines in, the reply lines out (for what the client library never sends). */
function raw(path: string, text: string, replies: number): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const s = createConnection(path);
    let buf = '';
    s.setEncoding('utf8');
    s.on('data', (c: string) => {
      buf += c;
      const lines = buf.split('\n').filter(Boolean);
      if (lines.length >= replies) {
        s.end();
        resolve(lines);
      }
    });
    s.on('error', reject);
    s.write(text);
  });
}

describe('control socket', () => {
  it("checks who connects (SO_PEERCRED): root, the daemon's user, or the --control-group", async () => {
    const me = process.getuid!();
    const as = (uid: number, gid: number): ControlAccess => ({ peerCred: () => ({ pid: process.pid, uid, gid }), group: 4242 });
    for (const [cred, ok] of [
      [as(0, 0), true],
      [as(me, me), true],
      [as(4321, 4242), true], // primary group
      [as(4321, 100), false],
    ] as const) {
      const { server } = await serve({}, cred);
      const reply = JSON.parse((await raw(server.path, '{"id":1,"method":"state.dump"}\n', 1))[0]);
      expect({ ok: reply.ok, msg: reply.error?.message }).toMatchObject(
        ok ? { ok: true } : { ok: false, msg: expect.stringMatching(/^permission denied: uid 4321 is not root and not in group 4242/) },
      );
      if (me === 0) expect(statSync(server.path).mode & 0o777).toBe(0o660);
    }
  });

  it('serves the method table with the socket mode 0600', async () => {
    const { server } = await serve();
    expect(statSync(server.path).mode & 0o777).toBe(0o600);
    const state = (await call(server.path, 'state.dump')) as { bond: { name: string }; ports: unknown[] };
    expect(state.bond.name).toBe('bond0');
    expect(state.ports).toHaveLength(2);
    expect(await call(server.path, 'show')).toMatch(/^Ethernet Channel Bonding Driver: tapbond/);
    expect(METHODS.map((m) => m.name)).toContain('debug.hash');
  });

  it('applies a change and replies with the error code and message of a refused one', async () => {
    const { server, bond } = await serve();
    await call(server.path, 'option.set', { name: 'active_slave', value: 's1' });
    expect(bond.state().bond.active_slave).toBe('s1');
    const err = await call(server.path, 'option.set', { name: 'miimon', value: 'often' }).catch((e: Error & { code: string }) => e);
    expect(err).toMatchObject({ code: 'EOPT_VALUE' });
    expect((err as Error).message).toMatch(/^miimon: invalid value 'often'; allowed: an integer from 0/);
    await expect(call(server.path, 'port.add', {})).rejects.toThrow("parameter 'port' (string) is required");
  });

  it('answers bad requests and keeps the connection: not JSON, unknown method, then a good one', async () => {
    const { server } = await serve();
    const lines = await raw(server.path, 'hello\n{"id":7,"method":"nope"}\n{"id":8,"method":"config.effective"}\n', 3);
    const [a, b, c] = lines.map((l) => JSON.parse(l));
    expect(a).toMatchObject({ ok: false, error: { code: 'ECONTROL', message: 'request is not JSON' } });
    expect(b).toMatchObject({ id: 7, ok: false, error: { message: "unknown method 'nope'" } });
    expect(c).toMatchObject({ id: 8, ok: true, result: { mode: 'active-backup', miimon: 100 } });
  });

  it('refuses a second daemon on a live socket, and takes over a stale one', async () => {
    const { server, bond } = await serve();
    const dir = server.path.slice(0, server.path.lastIndexOf('/'));
    await expect(new ControlServer(bond, dir, new MemoryLogger()).listen()).rejects.toThrow(/a daemon already serves bond0/);
    server.close();
    const again = new ControlServer(bond, dir, new MemoryLogger());
    await again.listen();
    expect(((await call(again.path, 'state.dump')) as { bond: { name: string } }).bond.name).toBe('bond0');
    again.close();
  });

  it('reports the daemon process: event-loop delay, memory, descriptors', async () => {
    const { server } = await serve();
    const st = (await call(server.path, 'state.dump')) as {
      process: { pid: number; open_fds: number; event_loop_delay_ms: Record<string, number> };
    };
    expect(st.process.pid).toBe(process.pid);
    expect(st.process.open_fds).toBeGreaterThan(2);
    expect(Object.keys(st.process.event_loop_delay_ms).sort()).toEqual(['max', 'p50', 'p99']);
  });

  it('bounds a request line: an error, then the connection closes', async () => {
    const { server } = await serve({ maxLine: 1024 });
    const [reply] = await raw(server.path, 'x'.repeat(5000), 1);
    expect(JSON.parse(reply)).toMatchObject({ ok: false, error: { message: 'request line longer than 1024 bytes' } });
    expect(((await call(server.path, 'state.dump')) as { bond: { name: string } }).bond.name).toBe('bond0'); // others unharmed
  });

  it('bounds the clients at once, and drops an idle one, without delaying the others', async () => {
    const { server } = await serve({ maxClients: 2, idleMs: 300 });
    const held = [createConnection(server.path), createConnection(server.path)];
    await Promise.all(held.map((c) => new Promise((r) => c.once('connect', r))));
    await new Promise((r) => setTimeout(r, 50));
    const [refused] = await raw(server.path, '{"id":1,"method":"state.dump"}\n', 1);
    expect(JSON.parse(refused)).toMatchObject({ ok: false, error: { message: 'too many control clients (at most 2 at once)' } });
    // the two silent clients are dropped after idleMs; then a client is served again at once
    const closed = held.map((c) => new Promise((r) => c.once('close', r)));
    await Promise.all(closed);
    const t0 = Date.now();
    expect(((await call(server.path, 'state.dump')) as { bond: { name: string } }).bond.name).toBe('bond0');
    expect(Date.now() - t0).toBeLessThan(1000);
  });
});
