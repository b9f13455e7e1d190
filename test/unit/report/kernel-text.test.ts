// `bondctl get` (sysfs values) and `bondctl show --details` (the bond line of ip -d link show),
// rendered from a live fake bond's state.
import { describe, expect, it } from 'vitest';
import { ipDetailsLine, sysfsValue } from '../../../src/report/kernel-text.js';
import { fakeBond } from '../../helpers/fake-bond.js';

describe('kernel-shaped text', () => {
  it('sysfs files read as the kernel prints them', () => {
    const { bond } = fakeBond(
      {
        mode: 'active-backup',
        miimon: 100,
        downdelay: 200,
        primary: 's1',
        xmit_hash_policy: 'layer2+3',
        arp_ip_target: '198.18.0.9,198.18.0.10',
      },
      ['s0', 's1'],
    );
    const s = bond.state();
    const get = (n: string) => sysfsValue(s, n);
    expect(get('mode')).toBe('active-backup 1');
    expect(get('xmit_hash_policy')).toBe('layer2+3 2');
    expect(get('miimon')).toBe('100');
    expect(get('downdelay')).toBe('200');
    expect(get('use_carrier')).toBe('1');
    expect(get('all_slaves_active')).toBe('0');
    expect(get('primary')).toBe('s1');
    expect(get('active_slave')).toBe('s1');
    expect(get('slaves')).toBe('s0 s1');
    expect(get('arp_ip_target')).toBe('198.18.0.9 198.18.0.10');
    expect(get('lacp_rate')).toBe('slow 0');
    expect(get('ad_actor_sys_prio')).toBe(''); // 802.3ad only
    expect(get('queue_id')).toBe('s0:0 s1:0');
    expect(get('mii_status')).toBe('up');
    expect(() => get('broadcast_neighbor')).toThrow(/netlink-only in the kernel/);
    expect(() => get('speed')).toThrow(/speed: no such file in \/sys\/class\/net\/bond0\/bonding; allowed: slaves, mode/);
  });

  it('ip -d link show: the same keywords in the same order', () => {
    const { bond } = fakeBond({ mode: 'active-backup', miimon: 100, primary: 's1' }, ['s0', 's1']);
    expect(ipDetailsLine(bond.state())).toBe(
      '    bond mode active-backup active_slave s1 miimon 100 updelay 0 downdelay 0 peer_notify_delay 0 use_carrier 1 arp_interval 0 arp_missed_max 2 ' +
        'arp_validate none arp_all_targets any primary s1 primary_reselect always fail_over_mac none xmit_hash_policy layer2 resend_igmp 1 num_grat_arp 1 ' +
        'all_slaves_active 0 min_links 0 lp_interval 1 packets_per_slave 1 lacp_active on lacp_rate slow coupled_control on ad_select stable tlb_dynamic_lb 1 ',
    );
    const ad = fakeBond({ mode: '802.3ad', miimon: 100, lacp_rate: 'fast' }, ['s0', 's1']).bond.state();
    expect(ipDetailsLine(ad)).toMatch(
      / lacp_rate fast coupled_control on ad_select stable (ad_aggregator \d+ ad_num_ports \d+ ad_actor_key \d+ ad_partner_key \d+ ad_partner_mac \S+ )?ad_actor_sys_prio 65535 ad_user_port_key 0 ad_actor_system 00:00:00:00:00:00 tlb_dynamic_lb 1 $/,
    );
  });
});
