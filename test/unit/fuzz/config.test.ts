// Configuration readers under random input: modprobe files, ifcfg directories, JSON configs,
// netplan, systemd-networkd, NetworkManager keyfiles and ifupdown files,
// made of the formats' own tokens in random order. Each either yields bonds or refuses with a
// BondError whose message names what is wrong; nothing else is ever thrown, and no interface is
// touched (there is no binding here at all).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { BondDecl } from '../../../src/config/decl.js';
import { readIfcfgDir } from '../../../src/config/ifcfg.js';
import { parseInterfaces } from '../../../src/config/ifupdown.js';
import { NETPLAN_PARAMS, parseNetplan } from '../../../src/config/netplan.js';
import { NETWORKD_BOND_KEYS, parseNetworkd } from '../../../src/config/networkd.js';
import { parseNmKeyfiles } from '../../../src/config/nmkeyfile.js';
import { fromDecls } from '../../../src/config/system.js';
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

  // the distro formats: random files of each format's own keys and values; reading and turning
  // every bond into a configuration either works or is a BondError
  const distro = (read: () => { bonds: BondDecl[]; warnings: string[] }) =>
    clean(() => {
      const res = read();
      for (const w of res.warnings) expect(w).toMatch(/:\d+: /); // every warning has a file and line
      fromDecls(res.bonds, res.warnings);
    });
  const nValue = () =>
    pick(r, [value(), '100ms', '1s', '2 min', 'yes', 'no', 'true', 'bond0', 'eth1', 'eth2', '198.18.0.1/24', '02:00:00:00:00:01']);

  it('netplan: 1000 random YAML files', () => {
    const seen = new Set<string>();
    const params = [...Object.keys(NETPLAN_PARAMS), 'bogus-key'];
    const keys = ['interfaces', 'addresses', 'macaddress', 'mtu', 'dhcp4', 'routes', 'parameters', 'renderer'];
    for (let i = 0; i < 1000; i++) {
      const ind = (n: number) => ' '.repeat(n);
      const L = [
        'network:',
        `${ind(2)}ethernets:`,
        `${ind(4)}eth1: {}`,
        `${ind(4)}eth2: { match: { macaddress: "${pick(r, ['02:00:00:00:00:01', 'x'])}" } }`,
        `${ind(2)}bonds:`,
        `${ind(4)}bond0:`,
      ];
      for (const k of keys.filter(() => r() < 0.6)) {
        if (k === 'parameters') {
          L.push(`${ind(6)}parameters:`);
          for (const p of params.filter(() => r() < 0.2))
            L.push(`${ind(8)}${p}: ${r() < 0.2 ? `[${nValue()}, ${nValue()}]` : JSON.stringify(nValue())}`);
        } else if (k === 'interfaces') L.push(`${ind(6)}interfaces: [${['eth1', 'eth2', 'eth9'].filter(() => r() < 0.6).join(', ')}]`);
        else L.push(`${ind(6)}${k}: ${r() < 0.3 ? `[${JSON.stringify(nValue())}]` : JSON.stringify(nValue())}`);
      }
      if (r() < 0.05) L.splice(Math.floor(r() * L.length), 0, pick(r, ['  - [', '\t:', '{{', 'bonds: 5']));
      seen.add(distro(() => parseNetplan([['fuzz.yaml', L.join('\n')]])));
    }
    expect(seen).toEqual(new Set(['ok', 'refused']));
  });

  it('systemd-networkd: 1000 random .netdev/.network sets', () => {
    const seen = new Set<string>();
    const keys = [...Object.keys(NETWORKD_BOND_KEYS), 'Bogus'];
    for (let i = 0; i < 1000; i++) {
      const netdev = ['[NetDev]', 'Name=bond0', 'Kind=bond', ...(r() < 0.3 ? [`MTUBytes=${nValue()}`] : []), '[Bond]'];
      for (const k of keys.filter(() => r() < 0.15)) netdev.push(`${k}=${nValue()}`);
      const network = [
        '[Match]',
        `${pick(r, ['Name', 'MACAddress'])}=${nValue()}`,
        '[Network]',
        `Bond=${pick(r, ['bond0', 'bond0', 'bond9'])}`,
        ...(r() < 0.3 ? [`Address=${nValue()}`, `PrimarySlave=${nValue()}`] : []),
      ];
      if (r() < 0.05) netdev.push(pick(r, ['junk line', '[', '=x']));
      seen.add(
        distro(() =>
          parseNetworkd(
            [
              ['a.netdev', netdev.join('\n')],
              ['b.network', network.join('\n')],
            ],
            ['eth1', 'eth2'],
          ),
        ),
      );
    }
    expect(seen).toEqual(new Set(['ok', 'refused']));
  });

  it('NetworkManager: 1000 random keyfile sets', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 1000; i++) {
      const bond = ['[connection]', 'type=bond', 'interface-name=bond0', '[bond]'];
      for (const n of names.filter(() => r() < 0.08)) bond.push(`${n}=${nValue()}`);
      if (r() < 0.3) bond.push('[ipv4]', 'method=manual', `address1=${nValue()}`);
      if (r() < 0.2) bond.push('[ethernet]', `mtu=${nValue()}`);
      const port = [
        '[connection]',
        'type=ethernet',
        `interface-name=${pick(r, ['eth1', 'eth2'])}`,
        `${pick(r, ['controller', 'master'])}=${pick(r, ['bond0', 'bond9'])}`,
        'port-type=bond',
      ];
      if (r() < 0.3) port.push('[bond-port]', `${pick(r, ['prio', 'queue-id', 'weird'])}=${nValue()}`);
      seen.add(
        distro(() =>
          parseNmKeyfiles([
            ['a.nmconnection', bond.join('\n')],
            ['b.nmconnection', port.join('\n')],
          ]),
        ),
      );
    }
    expect(seen).toEqual(new Set(['ok', 'refused']));
  });

  it('ifupdown: 1000 random interfaces files', () => {
    const seen = new Set<string>();
    const bondKeys = names.map((n) => `bond-${n.replace(/_/g, '-')}`);
    for (let i = 0; i < 1000; i++) {
      const L = [
        'auto bond0',
        `iface bond0 inet ${pick(r, ['static', 'manual', 'dhcp'])}`,
        `  bond-slaves ${pick(r, ['eth1 eth2', 'none', 'eth1'])}`,
      ];
      for (const k of bondKeys.filter(() => r() < 0.08)) L.push(`  ${k} ${nValue()}`);
      if (r() < 0.3) L.push(`  address ${nValue()}`, `  netmask ${pick(r, ['24', '255.255.255.0', '255.0.255.0', 'x'])}`);
      if (r() < 0.3) L.push(`iface eth2 inet manual`, `  bond-master ${pick(r, ['bond0', 'bond9'])}`);
      if (r() < 0.05) L.push(pick(r, ['stray', 'source /nonexistent/*', 'iface x']));
      const files: Record<string, string> = { '/i': L.join('\n') };
      seen.add(distro(() => parseInterfaces('/i', { read: (p) => files[p] ?? '', list: () => [] })));
    }
    expect(seen).toEqual(new Set(['ok', 'refused']));
  });
});
