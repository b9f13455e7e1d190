// The seed's configuration files: modprobe.conf and RedHat ifcfg readers on sample files in the
// forms the kernel's and the distributions' documentation use.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { buildFromSystemFiles } from '../../../src/config/index.js';
import { parseShellVars, readIfcfgDir } from '../../../src/config/ifcfg.js';
import { parseModprobe } from '../../../src/config/modprobe.js';

const fixture = (p: string) => new URL(`../../fixtures/${p}`, import.meta.url).pathname;
const modprobe = (f: string) => parseModprobe(readFileSync(fixture(`modprobe/${f}`), 'utf8'), f);

describe('modprobe configuration', () => {
  it('reads alias + module-wide options with a continuation line', () => {
    expect(modprobe('kernel-doc-style.conf')).toEqual([
      { name: 'bond0', options: {}, moduleOptions: { mode: 'active-backup', miimon: '100', num_grat_arp: '2' }, named: true },
    ]);
  });

  it('reads per-alias options (-o) and ignores other modules', () => {
    expect(modprobe('multi-bond.conf')).toEqual([
      { name: 'bond0', options: { mode: 'balance-rr', miimon: '100' }, moduleOptions: {}, named: true },
      { name: 'bond1', options: { mode: '1', miimon: '50', primary: 'eth2' }, moduleOptions: {}, named: true },
    ]);
  });

  it('creates max_bonds bonds with the module-wide options', () => {
    const b = modprobe('max-bonds.conf');
    expect(b.map((x) => x.name)).toEqual(['bond0', 'bond1', 'bond2']);
    expect(b.map((x) => x.named)).toEqual([false, false, false]); // made by max_bonds, named by no line
    expect(b[2].moduleOptions).toEqual({ mode: 'balance-xor', xmit_hash_policy: 'layer3+4', miimon: '100' });
    const { configs } = buildFromSystemFiles(b, []);
    expect(configs.map((c) => [c.name, c.options.mode, c.options.xmit_hash_policy])).toEqual([
      ['bond0', 'balance-xor', 'layer3+4'],
      ['bond1', 'balance-xor', 'layer3+4'],
      ['bond2', 'balance-xor', 'layer3+4'],
    ]);
  });

  it('names the file and line of a bad option word', () => {
    expect(() => parseModprobe('alias bond0 bonding\noptions bonding miimon\n', 'x.conf')).toThrow(
      /x.conf:2: 'miimon': expected option=value/,
    );
  });

  it('refuses a mode this version does not implement instead of ignoring it', () => {
    expect(buildFromSystemFiles(parseModprobe('options bonding mode=5 tlb_dynamic_lb=0\n'), []).configs[0].options).toMatchObject({
      mode: 'balance-tlb',
      tlb_dynamic_lb: 'off',
    });
    expect(buildFromSystemFiles(parseModprobe('options bonding mode=4 ad_select=3\n'), []).configs[0].options.ad_select).toBe(
      'actor_port_prio',
    );
    expect(buildFromSystemFiles(parseModprobe('options bonding mode=1 tx_queues=4\n'), []).configs[0].options.tx_queues).toBe(4);
  });

  it('ignores a module-wide option without effect in the mode, with a note, but refuses it per bond', () => {
    const { configs, notes } = buildFromSystemFiles(parseModprobe('options bonding miimon=100 primary=eth0\n'), []);
    expect(configs[0].options.primary).toBe('');
    expect(notes).toEqual(['bond0: primary=eth0 has no effect in mode balance-rr, ignored (module-wide option)']);
    expect(() => buildFromSystemFiles(parseModprobe('alias bond0 bonding\noptions bond0 -o bond0 primary=eth0\n'), [])).toThrow(
      /primary: not valid in mode balance-rr/,
    );
  });

  it('refuses an option value through the option table, naming it', () => {
    expect(() => buildFromSystemFiles(parseModprobe('options bonding mode=fast\n'), [])).toThrow(/mode: invalid value 'fast'/);
  });
});

describe('ifcfg network-scripts', () => {
  it('parses shell-style variables', () => {
    expect(parseShellVars(`A=1\nB="two words" # c\nC='x y'\nexport D=4\n# E=5\nF="a\\"b"`)).toEqual({
      A: '1',
      B: 'two words',
      C: 'x y',
      D: '4',
      F: 'a"b',
    });
  });

  it('reads bonds, their slaves (with HWADDR), options and addresses', () => {
    const bonds = readIfcfgDir(fixture('ifcfg-basic'));
    expect(bonds.map((b) => b.name)).toEqual(['bond0', 'bond1']);
    const b0 = bonds[0];
    expect(b0.options).toEqual({ mode: '1', miimon: '100' });
    expect(b0.addresses).toEqual([
      { address: '198.18.0.1', prefixlen: 24 },
      { address: '2001:db8::1', prefixlen: 64 },
    ]);
    expect(b0.slaves.map((s) => [s.device, s.hwaddr])).toEqual([
      ['eth0', '02:aa:00:00:00:01'],
      ['eth1', '02:aa:00:00:00:02'],
    ]);
    expect(bonds[1]).toMatchObject({ onboot: false, addresses: [{ address: '198.18.9.1', prefixlen: 24 }] });
  });

  it('turns them into daemon configurations: ONBOOT=no is skipped, BONDING_OPTS override modprobe', () => {
    const { configs, notes } = buildFromSystemFiles(
      parseModprobe('alias bond0 bonding\noptions bonding mode=0 miimon=200 num_grat_arp=3\n'),
      readIfcfgDir(fixture('ifcfg-basic')),
    );
    expect(configs).toHaveLength(1);
    expect(configs[0]).toMatchObject({
      name: 'bond0',
      slaves: ['eth0', 'eth1'],
      slaveMacs: { eth0: '02:aa:00:00:00:01', eth1: '02:aa:00:00:00:02' },
    });
    expect(configs[0].options).toMatchObject({ mode: 'active-backup', miimon: 100, num_grat_arp: 3 });
    expect(notes).toEqual(['bond1: ONBOOT=no, not started']);
  });
});
