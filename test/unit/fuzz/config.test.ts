// Configuration readers under random input: modprobe files, ifcfg directories and JSON configs
// made of the formats' own tokens in random order. Each either yields bonds or refuses with a
// BondError whose message names what is wrong; nothing else is ever thrown, and no interface is
// touched (there is no binding here at all).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readIfcfgDir } from '../../../src/config/ifcfg.js';
import { buildConfig, buildFromSystemFiles, readConfigFile, type RawConfig } from '../../../src/config/index.js';
import { parseModprobe } from '../../../src/config/modprobe.js';
import { BondError } from '../../../src/errors.js';
import { OPTIONS } from '../../../src/options/table.js';
import { pick, rng } from '../../helpers/rng.js';

const dir = mkdtempSync(join(tmpdir(), 'tb-cfgfuzz-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const r = rng(777);
const names = OPTIONS.map((o) => o.name);
const value = () =>
  pick(r, [
    '0',
    '1',
    '100',
    '-5',
    'on',
    'off',
    'fast',
    'active-backup',
    '802.3ad',
    'layer3+4',
    'eth0',
    '',
    'default',
    '1e3',
    '198.18.0.9',
    '2001:db8::1',
    '99999999999',
    'x y',
    '"quoted"',
    "'q'",
    '$(reboot)',
    '\\',
    '=',
  ]);
const token = () =>
  pick(r, [
    () => `${pick(r, names)}=${value()}`,
    () => pick(r, ['options', 'alias', 'install', 'bonding', 'bond0', 'bond1', '#', '\n', ' ', '\t', '\\\n', 'max_bonds=3']),
    () => value(),
  ])();
const text = (n: number) => Array.from({ length: n }, token).join(pick(r, [' ', '\n', ' ']));

/** Runs `fn`; a refusal must be a BondError that says something. */
function clean(fn: () => unknown): 'ok' | 'refused' {
  try {
    fn();
    return 'ok';
  } catch (e) {
    if (!(e instanceof BondError)) throw new Error(`not a BondError: ${(e as Error).stack}`);
    expect(e.message.length).toBeGreaterThan(5);
    return 'refused';
  }
}

describe('configuration fuzzing', () => {
  it('modprobe.conf: 3000 random files', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 3000; i++) {
      const t = text(1 + Math.floor(r() * 30));
      seen.add(clean(() => buildFromSystemFiles(parseModprobe(t, 'fuzz.conf'), [])));
    }
    expect(seen).toEqual(new Set(['ok', 'refused']));
  });

  it('ifcfg: 500 random directories', () => {
    const seen = new Set<string>();
    const keys = [
      'DEVICE',
      'BONDING_OPTS',
      'MASTER',
      'SLAVE',
      'HWADDR',
      'IPADDR',
      'PREFIX',
      'NETMASK',
      'IPV6ADDR',
      'ONBOOT',
      'TYPE',
      'BONDING_MASTER',
    ];
    for (let i = 0; i < 500; i++) {
      const d = mkdtempSync(join(dir, 'ifcfg-'));
      for (const dev of ['bond0', 'eth1', 'eth2'].filter(() => r() < 0.8)) {
        const lines = Array.from(
          { length: 1 + Math.floor(r() * 8) },
          () =>
            `${pick(r, keys)}=${pick(r, ['"', "'", ''])}${r() < 0.5 ? text(3) : pick(r, [dev, 'bond0', 'yes', 'no', '198.18.0.1', '24', '02:00:00:00:00:01'])}${pick(r, ['"', "'", ''])}`,
        );
        writeFileSync(join(d, `ifcfg-${dev}`), lines.join('\n'));
      }
      seen.add(clean(() => buildFromSystemFiles([], readIfcfgDir(d))));
    }
    expect(seen.has('refused')).toBe(true);
  });

  it('JSON: 3000 random configurations, and files that are not JSON', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 3000; i++) {
      // a third start from a valid bond, so that random options are judged on their own
      const raw: Record<string, unknown> = i % 3 ? { options: {} } : { name: 'bond0', slaves: ['eth1', 'eth2'], options: {} };
      for (const k of ['name', 'slaves', 'mtu', 'mac', 'addresses', 'up', 'busy_poll', 'cpu', 'slave_options'].filter(
        () => r() < (i % 3 ? 0.5 : 0),
      )) {
        raw[k] = pick(r, [value(), [value(), value()], 5, -1, null, { a: 1 }, true]);
      }
      for (let n = 0; n < (i % 3 ? 4 : 1); n++)
        (raw.options as Record<string, unknown>)[r() < 0.9 ? pick(r, names) : value()] = r() < 0.5 ? value() : pick(r, [1, null, [], {}]);
      seen.add(clean(() => buildConfig(raw as unknown as RawConfig))); // deliberately not a RawConfig
    }
    expect(seen).toEqual(new Set(['ok', 'refused']));
    for (const body of ['{', 'null', '[]', '"x"', '{"options": 5}', '\u0000']) {
      const f = join(dir, 'bad.json');
      writeFileSync(f, body);
      expect(clean(() => buildConfig(readConfigFile(f)))).toBe('refused');
    }
  });
});
