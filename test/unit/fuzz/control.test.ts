// The control socket under abuse, with a whole bond behind it: random bytes, random JSON
// requests against every method, huge lines, hundreds of clients at once and half-closed
// sockets. Every line gets a JSON reply, every refusal is a BondError with a stable code, the
// daemon stays up, and a well-behaved client is served afterwards.
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { call } from '../../../src/control/client.js';
import { METHODS } from '../../../src/control/methods.js';
import { ControlServer } from '../../../src/control/server.js';
import { OPTIONS } from '../../../src/options/table.js';
import { MemoryLogger } from '../../../src/util/logger.js';
import { fakeBond } from '../../helpers/fake-bond.js';
import { pick, rng } from '../../helpers/rng.js';

const SEED = 4242;
const dir = mkdtempSync(join(tmpdir(), 'tb-fuzz-'));
const b = fakeBond({ mode: 'active-backup', miimon: 100 }, ['s0', 's1']);
const log = new MemoryLogger();
const server = new ControlServer(b.bond, dir, log);
afterAll(() => {
  server.close();
  b.bond.delete();
  rmSync(dir, { recursive: true, force: true });
});

/** Sends `text`, collects what comes back until the server closes or `ms` pass. */
function exchange(text: string | Uint8Array, opts: { halfClose?: boolean; ms?: number } = {}): Promise<string> {
  return new Promise((resolve) => {
    const s = createConnection(server.path);
    let got = '';
    const done = () => {
      s.destroy();
      resolve(got);
    };
    s.setEncoding('utf8');
    s.on('data', (d: string) => (got += d));
    s.on('close', done);
    s.on('error', done);
    setTimeout(done, opts.ms ?? 300);
    s.write(text);
    if (opts.halfClose) s.end();
  });
}

function randomValue(r: () => number): unknown {
  return pick(r, [
    () => Math.floor(r() * 1e6) - 5e5,
    () => r(),
    () => pick(r, ['', 's0', 's1', 'bond0', 'nope', 'default', 'on', 'x'.repeat(40), '../../etc', '1,2,3', '198.18.0.9', '-1']),
    () => null,
    () => [pick(r, ['a', 1, null]), 's0'],
    () => ({ nested: r() }),
    () => true,
  ])();
}

describe('control socket fuzzing', () => {
  it('answers random JSON requests to every method with JSON, refusing only with BondErrors', async () => {
    await server.listen();
    const r = rng(SEED);
    const names = [...METHODS.map((m) => m.name), 'nope', ''];
    const lines: string[] = [];
    for (let i = 0; i < 2000; i++) {
      const params: Record<string, unknown> = {};
      for (const k of ['name', 'value', 'port', 'hex', 'spec', 'stats'].filter(() => r() < 0.5)) {
        params[k] = k === 'name' && r() < 0.7 ? pick(r, OPTIONS).name : randomValue(r);
      }
      lines.push(JSON.stringify({ id: i, method: pick(r, names), params }));
    }
    const replies = (await exchange(lines.join('\n') + '\n', { ms: 3000 })).split('\n').filter(Boolean);
    expect(replies).toHaveLength(lines.length);
    const codes = new Set<string>();
    for (const line of replies) {
      const rep = JSON.parse(line) as { ok: boolean; error?: { code: string } };
      if (!rep.ok) codes.add(rep.error!.code);
    }
    // every refusal carries a code of ours; an internal error would show as EFAIL
    expect(
      [...codes].filter((c) => !/^E(OPT|PORT)_|^ECONTROL$/.test(c)),
      `seed ${SEED}`,
    ).toEqual([]);
    expect(log.records.filter((x) => x.level === 'warn' && x.msg.includes('failed'))).toEqual([]);
  });

  it('survives random bytes, huge lines, half-closed sockets and hundreds of clients', async () => {
    const r = rng(SEED + 1);
    // the random requests of the test before may have released a slave
    const ports = ((await call(server.path, 'state.dump')) as { ports: unknown[] }).ports.length;
    const jobs: Promise<string>[] = [];
    for (let i = 0; i < 300; i++) {
      const kind = i % 4;
      if (kind === 0) jobs.push(exchange(Uint8Array.from({ length: 1 + Math.floor(r() * 2000) }, () => Math.floor(r() * 256))));
      else if (kind === 1) jobs.push(exchange('{'.repeat(100_000)));
      else if (kind === 2) jobs.push(exchange('{"id":1,"method":"state.dump"}\n', { halfClose: true }));
      else jobs.push(exchange('\n\n  \n{"id":2,"method":"show"}'));
    }
    const out = await Promise.all(jobs);
    for (const o of out) for (const line of o.split('\n').filter(Boolean)) expect(() => JSON.parse(line)).not.toThrow();
    expect(out.filter((o) => o.includes('request line longer than')).length).toBeGreaterThan(0);
    // still serving, and the bond unharmed
    expect(((await call(server.path, 'state.dump')) as { ports: unknown[] }).ports).toHaveLength(ports);
  });
});
