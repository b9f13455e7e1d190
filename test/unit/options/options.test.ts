import { describe, expect, it } from 'vitest';
import { type BondError } from '../../../src/errors.js';
import { changeOption, defaultOptions, parseOptionWords, resolveOptions } from '../../../src/options/parse.js';
import { OPTIONS } from '../../../src/options/table.js';

const err = (f: () => unknown): BondError => {
  try {
    f();
  } catch (e) {
    return e as BondError;
  }
  throw new Error('expected an error');
};

describe('option table', () => {
  it('has every kernel option with the kernel defaults', () => {
    const d = defaultOptions();
    expect(d.mode).toBe('balance-rr');
    expect(d.miimon).toBe(0);
    expect(d.use_carrier).toBe('on');
    expect(d.arp_missed_max).toBe(2);
    expect(d.primary_reselect).toBe('always');
    expect(d.xmit_hash_policy).toBe('layer2');
    expect(d.resend_igmp).toBe(1);
    expect(d.num_grat_arp).toBe(1);
    expect(d.packets_per_slave).toBe(1);
    expect(d.lacp_rate).toBe('slow');
    expect(d.ad_actor_sys_prio).toBe(65535);
    expect(d.lp_interval).toBe(1);
    expect(d.tlb_dynamic_lb).toBe('on');
    for (const n of [
      'mode',
      'miimon',
      'updelay',
      'downdelay',
      'peer_notif_delay',
      'use_carrier',
      'arp_interval',
      'arp_ip_target',
      'ns_ip6_target',
      'arp_validate',
      'arp_all_targets',
      'arp_missed_max',
      'primary',
      'primary_reselect',
      'active_slave',
      'fail_over_mac',
      'xmit_hash_policy',
      'resend_igmp',
      'num_grat_arp',
      'num_unsol_na',
      'all_slaves_active',
      'min_links',
      'lp_interval',
      'packets_per_slave',
      'lacp_rate',
      'lacp_active',
      'ad_select',
      'ad_actor_sys_prio',
      'ad_user_port_key',
      'ad_actor_system',
      'tlb_dynamic_lb',
      'coupled_control',
      'max_bonds',
    ]) {
      expect(
        OPTIONS.some((o) => o.name === n),
        n,
      ).toBe(true);
    }
  });

  it('accepts names, numbers and default', () => {
    expect(resolveOptions({ mode: '1' }).options.mode).toBe('active-backup');
    expect(resolveOptions({ mode: 'active-backup', primary_reselect: 2 }).options.primary_reselect).toBe('failure');
    expect(resolveOptions({ mode: 3 }).options.mode).toBe('broadcast');
    expect(resolveOptions({ miimon: 'default' }).options.miimon).toBe(0);
    expect(resolveOptions({ all_slaves_active: '1' }).options.all_slaves_active).toBe('on');
  });

  it('names the option, the value and what is allowed', () => {
    const e = err(() => resolveOptions({ mode: 'fastest' }));
    expect(e.code).toBe('EOPT_VALUE');
    expect(e.message).toContain("mode: invalid value 'fastest'");
    expect(e.message).toContain('active-backup (1)');
    const r = err(() => resolveOptions({ miimon: '-5' }));
    expect(r.message).toMatch(/miimon: invalid value '-5'.*integer from 0 to 2147483647/);
    const p = err(() => resolveOptions({ packets_per_slave: 70000 }));
    expect(p.message).toMatch(/packets_per_slave: invalid value '70000' \(out of range\)/);
    expect(err(() => resolveOptions({ bogus: 1 })).code).toBe('EOPT_UNKNOWN');
  });

  it('enforces the modes an option belongs to', () => {
    const e = err(() => resolveOptions({ mode: 'balance-rr', primary: 's0' }));
    expect(e.code).toBe('EOPT_MODE');
    expect(e.message).toContain('primary: not valid in mode balance-rr (0)');
    expect(err(() => resolveOptions({ mode: 'active-backup', packets_per_slave: 2 })).code).toBe('EOPT_MODE');
  });

  it('accepts the options added last (alb, 802.3ad extras, tx_queues)', () => {
    expect(resolveOptions({ mode: 'balance-alb', lp_interval: 5, tlb_dynamic_lb: 0 }).options).toMatchObject({
      mode: 'balance-alb',
      lp_interval: 5,
      tlb_dynamic_lb: 'off',
    });
    expect(resolveOptions({ mode: '802.3ad', ad_select: 3 }).options.ad_select).toBe('actor_port_prio');
    expect(resolveOptions({ mode: 'balance-rr', tx_queues: 4 }).options.tx_queues).toBe(4);
    expect(resolveOptions({}).options.tx_queues).toBe(16);
    const e = err(() => resolveOptions({ mode: 'balance-rr', tx_queues: 256 }));
    expect(e.code).toBe('EOPT_VALUE');
    expect(e.message).toBe("tx_queues: invalid value '256' (out of range); allowed: an integer from 1 to 255");
    expect(resolveOptions({ mode: '802.3ad', lacp_strict: 'on', coupled_control: 0, broadcast_neighbor: 1 }).options).toMatchObject({
      lacp_strict: 'on',
      coupled_control: 'off',
      broadcast_neighbor: 'on',
    });
    expect(resolveOptions({ mode: 'active-backup', arp_interval: 100, ns_ip6_target: 'fe80::1' }).options.ns_ip6_target).toEqual([
      'fe80::1',
    ]);
    expect(err(() => resolveOptions({ arp_interval: 100, ns_ip6_target: 'ff02::1' })).message).toContain(
      "ns_ip6_target: invalid value 'ff02::1'",
    );
    expect(
      resolveOptions({ mode: 'active-backup', arp_interval: 100, arp_ip_target: '198.18.0.2', arp_validate: 6 }).options.arp_validate,
    ).toBe('filter_backup');
    expect(err(() => resolveOptions({ miimon: 100, arp_interval: 100, arp_ip_target: '198.18.0.2' })).code).toBe('EOPT_CONFLICT');
    expect(err(() => resolveOptions({ arp_interval: 100 })).message).toContain('arp_interval needs at least one arp_ip_target');
    expect(err(() => resolveOptions({ arp_interval: 100, arp_ip_target: '255.255.255.255' })).message).toContain(
      "arp_ip_target: invalid value '255.255.255.255'",
    );
    // defaults of unimplemented options are fine
    expect(resolveOptions({ resend_igmp: 1 }).options.resend_igmp).toBe(1);
  });

  it('checks bond preconditions (kernel NOSLAVES / IFDOWN)', () => {
    const cur = resolveOptions({ mode: 'active-backup' }).options;
    expect(err(() => changeOption(cur, 'mode', 'balance-rr', { hasPorts: true, isUp: false, running: true })).code).toBe('EOPT_HAS_PORTS');
    expect(err(() => changeOption(cur, 'mode', 'balance-rr', { hasPorts: false, isUp: true, running: true })).code).toBe('EOPT_BUSY');
    expect(changeOption(cur, 'mode', 'balance-rr', { hasPorts: false, isUp: false, running: true }).options.mode).toBe('balance-rr');
    expect(err(() => changeOption(cur, 'max_bonds', 2, { hasPorts: false, isUp: false, running: true })).code).toBe('EOPT_READONLY');
    expect(err(() => changeOption(cur, 'tx_queues', 8, { hasPorts: false, isUp: false, running: true })).code).toBe('EOPT_READONLY');
  });

  it('rounds delays to miimon multiples and reports it', () => {
    const r = resolveOptions({ miimon: 100, updelay: 250, downdelay: 200 });
    expect(r.options.updelay).toBe(200);
    expect(r.options.downdelay).toBe(200);
    expect(r.notes.join('\n')).toContain('updelay: 250 ms is not a multiple of miimon 100, rounded to 200 ms');
  });

  it('keeps num_grat_arp and num_unsol_na one value', () => {
    const r = resolveOptions({ mode: 'active-backup', num_unsol_na: 5 });
    expect(r.options.num_grat_arp).toBe(5);
    expect(resolveOptions({ mode: 'active-backup', num_grat_arp: 3 }).options.num_unsol_na).toBe(3);
  });

  it('splits modprobe words', () => {
    expect(parseOptionWords(['mode=1', 'miimon=100'])).toEqual({ mode: '1', miimon: '100' });
    expect(err(() => parseOptionWords(['mode'])).message).toContain('expected option=value');
  });
});
