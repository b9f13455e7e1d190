// The option x mode matrix against the kernel's own rules, written down here from
// drivers/net/bonding/bond_options.c (bond_opts[]: .unsuppmodes and .flags; broadcast_neighbor
// and actor_port_prio from the 6.17/6.18 patches), independently of src/options/table.ts:
// an option is refused in a mode only where unsuppmodes says so, while slaves exist only with
// NOSLAVES, while up only with IFDOWN. The set handlers' side effects follow.
import { describe, expect, it } from 'vitest';
import { type BondError } from '../../../src/errors.js';
import { MODE_NAMES, type ModeName } from '../../../src/options/modes.js';
import { changeOption, defaultOptions, parseSlaveOption, resolveOptions } from '../../../src/options/parse.js';
import { OPTIONS } from '../../../src/options/table.js';

const ALL: ModeName[] = [...MODE_NAMES];
const except = (...m: ModeName[]) => ALL.filter((x) => !m.includes(x));
const only = (...m: ModeName[]) => ALL.filter((x) => m.includes(x));
const NO_ARP = ['802.3ad', 'balance-tlb', 'balance-alb'] as ModeName[];
const PRIMARY = only('active-backup', 'balance-tlb', 'balance-alb');

// option: [modes the kernel accepts it in, flags, a valid non-default value (with what it needs)]
type Row = [ModeName[], ('NOSLAVES' | 'IFDOWN')[], Record<string, unknown>];
// prettier-ignore
const KERNEL: Record<string, Row> = {
  mode: [ALL, ['NOSLAVES', 'IFDOWN'], {}],
  packets_per_slave: [only('balance-rr'), [], { packets_per_slave: 3 }],
  xmit_hash_policy: [ALL, [], { xmit_hash_policy: 'layer2+3' }],
  arp_validate: [except(...NO_ARP), [], { arp_validate: 'all' }],
  arp_all_targets: [ALL, [], { arp_all_targets: 'all' }],
  fail_over_mac: [ALL, ['NOSLAVES'], { fail_over_mac: 'active' }],
  arp_interval: [except(...NO_ARP), [], { arp_interval: 200, arp_ip_target: '198.18.0.9' }],
  arp_missed_max: [except(...NO_ARP), [], { arp_missed_max: 5 }],
  arp_ip_target: [ALL, [], { arp_ip_target: '198.18.0.9' }],
  ns_ip6_target: [ALL, [], { ns_ip6_target: '2001:db8::9' }],
  downdelay: [ALL, [], { miimon: 100, downdelay: 200 }],
  updelay: [ALL, [], { miimon: 100, updelay: 200 }],
  lacp_active: [only('802.3ad'), ['IFDOWN'], { lacp_active: 'off' }],
  lacp_rate: [only('802.3ad'), ['IFDOWN'], { lacp_rate: 'fast' }],
  min_links: [ALL, [], { min_links: 1 }],
  ad_select: [ALL, ['IFDOWN'], { ad_select: 'count' }],
  num_unsol_na: [ALL, [], { num_unsol_na: 3 }],
  num_grat_arp: [ALL, [], { num_grat_arp: 3 }],
  miimon: [ALL, [], { miimon: 50 }],
  primary: [PRIMARY, [], { primary: 'eth9' }],
  primary_reselect: [ALL, [], { primary_reselect: 'better' }],
  use_carrier: [ALL, [], { use_carrier: 1 }],
  active_slave: [PRIMARY, [], { active_slave: 'eth9' }],
  all_slaves_active: [ALL, [], { all_slaves_active: 1 }],
  resend_igmp: [ALL, [], { resend_igmp: 4 }],
  lp_interval: [ALL, [], { lp_interval: 3 }],
  tlb_dynamic_lb: [only('balance-tlb', 'balance-alb'), ['IFDOWN'], { tlb_dynamic_lb: 0 }],
  ad_actor_sys_prio: [only('802.3ad'), [], { ad_actor_sys_prio: 100 }],
  ad_actor_system: [only('802.3ad'), [], { ad_actor_system: '02:00:00:00:00:09' }],
  ad_user_port_key: [only('802.3ad'), ['IFDOWN'], { ad_user_port_key: 7 }],
  peer_notif_delay: [ALL, [], { miimon: 100, peer_notif_delay: 200 }],
  coupled_control: [only('802.3ad'), ['IFDOWN'], { coupled_control: 0 }],
  broadcast_neighbor: [only('802.3ad'), [], { broadcast_neighbor: 1 }],
};
// per-slave options (bond_netlink.c bond_slave_changelink, through the same option table)
const KERNEL_SLAVE: Record<string, [ModeName[], number]> = {
  prio: [PRIMARY, -5],
  queue_id: [ALL, 2],
  actor_port_prio: [only('802.3ad'), 100],
};

const code = (f: () => unknown): string | undefined => {
  try {
    f();
    return undefined;
  } catch (e) {
    return (e as BondError).code ?? (e as Error).message;
  }
};

describe('the option x mode matrix, as the kernel has it', () => {
  it('covers every kernel option of the table', () => {
    const kernelRows = OPTIONS.filter((o) => !o.extension && !o.startOnly && o.name !== 'lacp_strict').map((o) => o.name);
    expect(kernelRows.sort()).toEqual(Object.keys(KERNEL).sort());
  });

  for (const [name, [modes, , sample]] of Object.entries(KERNEL)) {
    if (name === 'mode') continue;
    it(`${name}: accepted in ${modes.length === 7 ? 'every mode' : modes.join(', ')}, refused (EOPT_MODE) elsewhere`, () => {
      for (const mode of ALL) {
        const got = code(() => resolveOptions({ mode, ...sample }));
        expect({ mode, got }).toEqual({ mode, got: modes.includes(mode) ? undefined : 'EOPT_MODE' });
      }
    });
  }

  it('NOSLAVES and IFDOWN exactly where the kernel has them, for runtime changes', () => {
    for (const [name, [modes, flags, sample]] of Object.entries(KERNEL)) {
      const mode = modes[0];
      const base = resolveOptions({ mode, miimon: 100 }).options;
      const value = name === 'mode' ? (mode === 'balance-rr' ? 'active-backup' : 'balance-rr') : sample[name];
      if (name === 'arp_interval') base.arp_ip_target = ['198.18.0.9'];
      const withSlaves = code(() => changeOption(base, name, value, { hasPorts: true, isUp: false, running: true }));
      const up = code(() => changeOption(base, name, value, { hasPorts: false, isUp: true, running: true }));
      expect({ name, withSlaves, up }).toEqual({
        name,
        withSlaves: flags.includes('NOSLAVES') ? 'EOPT_HAS_PORTS' : undefined,
        up: flags.includes('IFDOWN') ? 'EOPT_BUSY' : undefined,
      });
    }
  });

  it('per-slave options by mode', () => {
    for (const [name, [modes, value]] of Object.entries(KERNEL_SLAVE)) {
      for (const mode of ALL) {
        const got = code(() => parseSlaveOption(name, value, mode));
        expect({ name, mode, got }).toEqual({ name, mode, got: modes.includes(mode) ? undefined : 'EOPT_MODE' });
      }
    }
  });

  it('what new users hit first: hash policy in active-backup, min_links in balance-rr, ad_select in active-backup, resend_igmp in 802.3ad', () => {
    expect(resolveOptions({ mode: 'active-backup', miimon: 100, xmit_hash_policy: 'layer2+3' }).options.xmit_hash_policy).toBe('layer2+3');
    expect(resolveOptions({ mode: 'balance-rr', min_links: 2 }).options.min_links).toBe(2);
    expect(resolveOptions({ mode: 'active-backup', ad_select: 'bandwidth' }).options.ad_select).toBe('bandwidth');
    expect(resolveOptions({ mode: '802.3ad', resend_igmp: 3 }).options.resend_igmp).toBe(3);
  });
});

describe("the set handlers' side effects", () => {
  const idle = { hasPorts: false, isUp: false, running: true };
  it('a mode that cannot use the ARP monitor turns it off and sets miimon=100', () => {
    const arp = resolveOptions({ mode: 'active-backup', arp_interval: 100, arp_ip_target: '198.18.0.9', arp_validate: 'all' }).options;
    const { options, notes } = changeOption(arp, 'mode', '802.3ad', idle);
    expect([options.arp_interval, options.miimon, options.arp_validate]).toEqual([0, 100, 'none']);
    expect(notes.join('\n')).toMatch(/arp_interval: set to 0/);
  });
  it('arp_validate is not kept across modes; broadcast_neighbor neither', () => {
    const o = resolveOptions({ mode: 'active-backup', arp_interval: 100, arp_ip_target: '198.18.0.9', arp_validate: 'all' }).options;
    expect(changeOption(o, 'mode', 'balance-xor', idle).options.arp_validate).toBe('none');
    const ad = resolveOptions({ mode: '802.3ad', broadcast_neighbor: 'on' }).options;
    expect(changeOption(ad, 'mode', 'balance-xor', idle).options.broadcast_neighbor).toBe('off');
  });
  it('balance-alb forces tlb_dynamic_lb on', () => {
    const tlb = resolveOptions({ mode: 'balance-tlb', tlb_dynamic_lb: 0 }).options;
    expect(changeOption(tlb, 'mode', 'balance-alb', idle).options.tlb_dynamic_lb).toBe('on');
    // and after the mode, a later option write may still turn it off
    expect(resolveOptions({ mode: 'balance-alb', tlb_dynamic_lb: 0 }).options.tlb_dynamic_lb).toBe('off');
  });
  it('miimon replaces the ARP monitor, and arp_interval the MII monitor', () => {
    const arp = resolveOptions({ mode: 'active-backup', arp_interval: 100, arp_ip_target: '198.18.0.9', arp_validate: 'active' }).options;
    const mii = changeOption(arp, 'miimon', 100, idle).options;
    expect([mii.miimon, mii.arp_interval, mii.arp_validate]).toEqual([100, 0, 'none']);
    const back = changeOption(mii, 'arp_interval', 200, idle).options;
    expect([back.miimon, back.arp_interval]).toEqual([0, 200]);
    // in one request (a start) both is refused, as by netlink
    expect(code(() => resolveOptions({ miimon: 100, arp_interval: 100, arp_ip_target: '198.18.0.9' }))).toBe('EOPT_CONFLICT');
  });
  it('a delay needs the MII monitor at runtime (-EPERM)', () => {
    const o = resolveOptions({ mode: 'active-backup' }).options;
    expect(code(() => changeOption(o, 'updelay', 200, idle))).toBe('EOPT_CONFLICT');
    expect(changeOption(changeOption(o, 'miimon', 100, idle).options, 'updelay', 250, idle).options.updelay).toBe(200);
  });
  it('use_carrier=0 is accepted with a warning that the carrier is always used', () => {
    const r = resolveOptions({ use_carrier: 0 });
    expect(r.options.use_carrier).toBe('on');
    expect(r.notes.join('\n')).toMatch(/use_carrier: 0 is obsolete.*carrier is always used/);
    expect(changeOption(defaultOptions(), 'use_carrier', 0, idle).notes.join('\n')).toMatch(/obsolete/);
  });
});
