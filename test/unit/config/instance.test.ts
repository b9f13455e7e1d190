// bondd@BOND's configuration lookup: /etc/tapbond/BOND.json, else ifcfg and modprobe files.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadInstance, parseAddresses } from '../../../src/config/index.js';
import { readIfcfgDir } from '../../../src/config/ifcfg.js';
import { parseModprobe } from '../../../src/config/modprobe.js';
describe('configuration for bondd@BOND (--instance)', () => {
  const root = mkdtempSync(join(tmpdir(), 'tb-etc-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  const readers = { ifcfg: readIfcfgDir, modprobe: parseModprobe };

  it('prefers /etc/tapbond/BOND.json', () => {
    mkdirSync(join(root, 'tapbond'), { recursive: true });
    writeFileSync(
      join(root, 'tapbond', 'bond7.json'),
      JSON.stringify({ slaves: ['eth1', 'eth2'], mode: 'active-backup', miimon: 100, addresses: ['198.18.7.1/24'] }),
    );
    const r = loadInstance('bond7', root, readers);
    expect(r.source).toBe(join(root, 'tapbond', 'bond7.json'));
    expect(r.configs[0]).toMatchObject({ name: 'bond7', slaves: ['eth1', 'eth2'], addresses: [{ address: '198.18.7.1', prefixlen: 24 }] });
    expect(r.configs[0].options).toMatchObject({ mode: 'active-backup', miimon: 100 });
    writeFileSync(join(root, 'tapbond', 'bond8.json'), JSON.stringify({ name: 'bond9' }));
    expect(() => loadInstance('bond8', root, readers)).toThrow(/name 'bond9' differs from the instance name 'bond8'/);
  });

  it('falls back to ifcfg-BOND and the modprobe files, read as one configuration', () => {
    const dir = join(root, 'sysconfig', 'network-scripts');
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      join(dir, 'ifcfg-bond1'),
      'DEVICE=bond1\nIPADDR=198.18.1.1\nNETMASK=255.255.255.0\nONBOOT=yes\nBONDING_OPTS="miimon=50"\n',
    );
    writeFileSync(join(dir, 'ifcfg-eth3'), 'DEVICE=eth3\nMASTER=bond1\nSLAVE=yes\n');
    writeFileSync(join(dir, 'ifcfg-bond2'), 'DEVICE=bond2\nBONDING_OPTS="mode=1"\n');
    mkdirSync(join(root, 'modprobe.d'), { recursive: true });
    writeFileSync(join(root, 'modprobe.d', 'a-alias.conf'), 'alias bond1 bonding\n');
    writeFileSync(join(root, 'modprobe.d', 'b-opts.conf'), 'options bond1 mode=balance-xor xmit_hash_policy=layer3+4\n');
    const r = loadInstance('bond1', root, readers);
    expect(r.configs).toHaveLength(1);
    expect(r.configs[0]).toMatchObject({ name: 'bond1', slaves: ['eth3'], addresses: [{ address: '198.18.1.1', prefixlen: 24 }] });
    expect(r.configs[0].options).toMatchObject({ mode: 'balance-xor', xmit_hash_policy: 'layer3+4', miimon: 50 });
    expect(() => loadInstance('bond5', root, readers)).toThrow(/instance bond5: no configuration found; looked for .*bond5\.json/);
  });

  it('checks JSON addresses', () => {
    expect(parseAddresses('198.18.0.1/24, 2001:db8::1/64')).toEqual([
      { address: '198.18.0.1', prefixlen: 24 },
      { address: '2001:db8::1', prefixlen: 64 },
    ]);
    expect(() => parseAddresses(['198.18.0.1'])).toThrow(/addresses: invalid value '198.18.0.1'; allowed: .*prefix length/);
    expect(() => parseAddresses(['198.18.0.1/33'])).toThrow(/invalid value '198.18.0.1\/33'/);
  });
});
