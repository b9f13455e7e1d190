// `npm pack` gives a package that installs globally (the addon builds at install) and whose
// bondd and bondctl run a bond from their installed location.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { have, Lab, pingSummary, ROOT, skipReason, sleep, waitFor, mustSkip } from '../helpers/lab.js';

// a global install fetches the dependencies from the npm registry
const registry = () => spawnSync('npm', ['ping'], { timeout: 15_000 }).status === 0;
const reason =
  skipReason() ||
  (!have('npm') ? 'needs npm' : !registry() ? 'the npm registry is not reachable (a global install fetches dependencies)' : '');

describe.skipIf(mustSkip(reason, 'package'))('npm pack and a global install', () => {
  const lab = new Lab('k');
  const dir = mkdtempSync(join(tmpdir(), 'tapbond-pack-'));
  beforeAll(() => lab.up(2));
  afterAll(() => {
    lab.down();
    rmSync(dir, { recursive: true, force: true });
  });

  it('installs from the tarball and runs a bond with the installed commands', async () => {
    const tgz = execFileSync('npm', ['pack', '--silent', '--pack-destination', dir], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 })
      .trim()
      .split('\n')
      .pop()!;
    const files = execFileSync('tar', ['-tzf', join(dir, tgz)], { encoding: 'utf8' });
    for (const f of [
      'package/dist/cli/bondd.js',
      'package/dist/cli/bondctl.js',
      'package/binding.gyp',
      'package/native/src/engine.cc',
      'package/packaging/systemd/bondd@.service',
      'package/examples/queue-by-mark.bpf.o', // the README's queue_id recipe
      'package/README.md',
    ]) {
      expect(files).toContain(f);
    }
    expect(files).not.toContain('package/test/');
    expect(files).not.toContain('package/build/');
    const prefix = join(dir, 'prefix');
    const inst = spawnSync('npm', ['install', '-g', '--prefix', prefix, '--no-audit', '--no-fund', join(dir, tgz)], {
      encoding: 'utf8',
      timeout: 300_000,
    });
    expect(inst.status, inst.stdout + inst.stderr).toBe(0);
    const bondd = join(prefix, 'bin', 'bondd');
    const bondctl = join(prefix, 'bin', 'bondctl');
    const version = (await import(join(ROOT, 'package.json'), { with: { type: 'json' } })).default.version as string;
    expect(execFileSync(bondd, ['--version'], { encoding: 'utf8' }).trim()).toBe(version);
    expect(execFileSync(bondctl, ['--help'], { encoding: 'utf8' })).toMatch(/watch/);

    // the installed daemon, in the lab's server namespace
    const run = join(dir, 'run');
    const p = lab.shAsync(
      lab.srv,
      `${bondd} --log-format pretty --run-dir ${run} --name bond0 --slaves s0,s1 --address 198.18.0.1/24 mode=balance-xor miimon=100 2>&1`,
      30_000,
    );
    await waitFor(
      () => spawnSync('ip', ['netns', 'exec', lab.srv, bondctl, '--run-dir', run, 'show', 'bond0']).status === 0,
      10_000,
      'the installed bondd',
    );
    const show = lab.sh(lab.srv, `${bondctl} --run-dir ${run} show bond0`);
    expect(show).toContain('Bonding Mode: load balancing (xor)');
    await waitFor(() => lab.link(lab.srv, 'bond0').operstate === 'UP', 5000, 'carrier');
    expect(pingSummary(lab.sh(lab.cli, 'ping -c 5 -i 0.05 -W 1 198.18.0.1')).received).toBe(5);
    // the installed bondctl takes the bond down, and its bondd exits
    expect(lab.sh(lab.srv, `${bondctl} --run-dir ${run} delete bond0`)).toContain('bond0 deleted');
    const log = await p;
    expect(log).toMatch(/deleted: every slave restored, the TAP removed/);
    await sleep(100);
    expect(lab.sh(lab.srv, 'ip link show bond0', { allowFail: true })).toMatch(/does not exist/);
  });
});
