// 802.3ad against independent partners, on real veths:
//   srv: bondd bond0 (s0,s1, 198.18.0.1)  <-- veth pairs -->  cli: Open vSwitch bond0 on br0
//   (userspace datapath, lacp=active, balance-tcp, 198.18.0.2)  or  a second bondd.
// Observers: ovs-appctl lacp/show, the partner's kernel interface counters, nftables (cuts
// LACPDUs while carrier stays up), tcpdump + tshark (dissection of our LACPDUs).
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { exited, have, Lab, pingSummary, skipReason, sleep, unitRestartMs, waitFor, mustSkip } from '../helpers/lab.js';
import { haveOvs, Ovs } from '../helpers/ovs.js';

const reason =
  skipReason() ||
  (haveOvs() ? '' : 'needs openvswitch-switch') ||
  (have('nft') ? '' : 'needs nftables') ||
  (have('python3') ? '' : 'needs python3') ||
  (have('tcpdump') ? '' : 'needs tcpdump');

const FAST_STATE = 63; // activity, short timeout, aggregation, sync, collecting, distributing
const SLOW_STATE = 61;

describe.skipIf(mustSkip(reason))('802.3ad with Open vSwitch and with bondd as partners', () => {
  let lab: Lab;
  let ovs: Ovs | undefined;
  let pcapDir: string;
  const labs: Lab[] = [];
  beforeEach(() => {
    lab = new Lab('l');
    labs.push(lab);
    lab.pair(2);
    pcapDir = mkdtempSync(join(tmpdir(), 'tapbond-pcap-'));
  });
  afterEach(async () => {
    await lab.stopAll().catch(() => {});
    ovs?.stop();
    ovs = undefined;
    lab.down();
    rmSync(pcapDir, { recursive: true, force: true });
  });
  afterAll(() => labs.forEach((l) => l.down()));

  const portStates = (ns?: string) => lab.state('bond0', ns).ports.map((p: { lacp: { actor: { state: number } } }) => p.lacp.actor.state);
  const distributing = (ns?: string) => lab.state('bond0', ns).mode.distributing as string[];

  function startOvs(time: 'fast' | 'slow'): Ovs {
    ovs = new Ovs(lab.cli);
    ovs.start();
    ovs.lacpBond(['q0', 'q1'], { time });
    lab.sh(lab.cli, 'ip addr add 198.18.0.2/24 dev br0 && ip link set br0 up');
    return ovs;
  }

  it('fast: negotiates with OVS within 3 s, spreads traffic, expires and defaults without LACPDUs, follows link state', async () => {
    const o = startOvs('fast');
    const t0 = Date.now();
    await lab.startBondd(['--name', 'bond0', '--slaves', 's0,s1', 'mode=802.3ad', 'lacp_rate=fast', 'xmit_hash_policy=layer3+4']);
    const ready = Date.now();
    await waitFor(() => distributing().length === 2, 6000, 'both ports distributing');
    const took = (Date.now() - ready) / 1000;
    console.log(`start-up ${ready - t0} ms (the kernel path's verifier is most of it), then distributing after ${took} s`);
    // the protocol's part from the moment the bond is up; start-up on its own bound
    expect(took).toBeLessThanOrEqual(3);
    expect(ready - t0).toBeLessThan(2000);
    await waitFor(() => portStates().every((s: number) => s === FAST_STATE), 3000, 'actor state 63');
    await waitFor(
      () => {
        const s = o.lacpShow();
        return s.negotiated && Object.values(s.members).every((m) => m.status === 'current attached');
      },
      5000,
      'OVS: negotiated, members current',
    );
    for (const m of Object.values(o.lacpShow().members))
      expect(m.partnerState).toBe('activity timeout aggregation synchronized collecting distributing');
    const show = lab.bondctl(['show', 'bond0']).out;
    expect(show).toMatch(/Active Aggregator Info:\n\tAggregator ID: \d+\n\tNumber of ports: 2\n\tActor Key: 15/);
    expect(show).toContain('    port state: 63');

    // traffic over both links, counted by the partner's kernel
    lab.sh(lab.srv, 'ip addr add 198.18.0.1/24 dev bond0');
    await waitFor(() => lab.link(lab.srv, 'bond0').operstate === 'UP', 3000, 'bond carrier');
    expect(pingSummary(lab.sh(lab.srv, 'ping -c 3 -i 0.1 -W 1 198.18.0.2')).received).toBe(3);
    const rx = () => [lab.stats(lab.cli, 'q0').rx_packets, lab.stats(lab.cli, 'q1').rx_packets];
    const before = rx();
    lab.sh(
      lab.srv,
      `python3 -c "import socket
for sp in range(20000, 20032):
    s=socket.socket(2,2); s.bind(('198.18.0.1',sp)); [s.sendto(b'x'*20,('198.18.0.2',9)) for _ in range(20)]"`,
    );
    const after = rx();
    expect(after[0] - before[0]).toBeGreaterThanOrEqual(40);
    expect(after[1] - before[1]).toBeGreaterThanOrEqual(40);

    // cut the partner's LACPDUs on q0 while carrier stays up: expired 3 s after the last LACPDU
    // that reached s0 (seen by tcpdump on s0), defaulted 3 s later
    let cap = '';
    const td = spawn(
      'ip',
      ['netns', 'exec', lab.srv, 'timeout', '15', 'tcpdump', '-i', 's0', '-Q', 'in', '-tt', '-n', '-l', 'ether proto 0x8809'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    td.stdout.on('data', (d) => (cap += d));
    td.stderr.on('data', (d) => (cap += d));
    await waitFor(() => cap.includes('listening on'), 3000, 'tcpdump on s0');
    await sleep(1500); // at least one LACPDU at the fast rate
    lab.sh(
      lab.cli,
      'nft add table netdev cut && nft add chain netdev cut out "{ type filter hook egress device q0 priority 0; }" && nft add rule netdev cut out ether type 0x8809 drop',
    );
    await waitFor(() => lab.state().ports[0].lacp.rx_state === 'expired', 5000, 's0 expired');
    const expiredSeen = Date.now() / 1000;
    td.kill('SIGTERM');
    await new Promise((r) => td.on('close', r));
    const lastRx = Math.max(
      ...cap
        .split('\n')
        .map((l) => /^(\d+\.\d+) /.exec(l)?.[1])
        .filter(Boolean)
        .map(Number),
    );
    expect(Number.isFinite(lastRx), cap).toBe(true);
    // polling only adds delay after the fact: the expiry cannot have come sooner than 3 s
    expect(expiredSeen - lastRx).toBeGreaterThanOrEqual(2.9);
    expect(distributing()).toEqual(['s1']);
    await waitFor(() => lab.state().ports[0].lacp.rx_state === 'defaulted', 5000, 's0 defaulted');
    expect(lab.state().ports[0].lacp.actor.state & 0x40).toBe(0x40);
    expect(lab.link(lab.srv, 's0').operstate).toBe('UP'); // carrier never went away
    // Open vSwitch stops using q0 once our next LACPDU (Sync cleared) reaches it
    await waitFor(() => !o.lacpShow().members.q0.partnerState.includes('synchronized'), 3000, 'OVS sees s0 out of sync');
    expect(pingSummary(lab.sh(lab.srv, 'ping -c 3 -i 0.1 -W 1 198.18.0.2')).received).toBe(3);
    lab.sh(lab.cli, 'nft delete table netdev cut');
    await waitFor(() => distributing().length === 2, 8000, 's0 back in distribution');

    // a link going down and up is removed and restored
    lab.sh(lab.cli, 'ip link set q1 down');
    await waitFor(() => distributing().join() === 's0', 3000, 's1 out');
    lab.sh(lab.cli, 'ip link set q1 up');
    await waitFor(() => distributing().length === 2, 8000, 's1 back');
    await waitFor(() => o.lacpShow().members.q1?.status === 'current attached', 5000, 'OVS sees q1 current again');
  });

  it('a restart (SIGTERM, SIGKILL), a reload and a --takeover of bondd are invisible to OVS: never expired or defaulted, members stay current, traffic goes on', async () => {
    const o = startOvs('fast');
    const args = ['--name', 'bond0', '--slaves', 's0,s1', 'mode=802.3ad', 'lacp_rate=fast', 'xmit_hash_policy=layer3+4'];
    let b = await lab.startBondd(args);
    await waitFor(() => distributing().length === 2, 6000, 'both ports distributing');
    await waitFor(() => Object.values(o.lacpShow().members).every((m) => m.status === 'current attached'), 5000, 'OVS members current');
    // OVS's own view every 100 ms through every restart and hand-over: its fast timeout is 3 s
    const seen = new Set<string>();
    let polling = true;
    const poller = (async () => {
      while (polling) {
        for (const m of Object.values(o.lacpShow().members)) seen.add(`${m.status} | ${m.partnerState}`);
        await sleep(100);
      }
    })();
    const pinger = lab.shAsync(lab.cli, 'ping -c 1000 -i 0.01 -W 1 198.18.0.1', 30_000);
    lab.sh(lab.srv, 'ip addr replace 198.18.0.1/24 dev bond0');
    await sleep(500);
    for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
      await lab.stopBondd(signal);
      // no bondd for as long as the unit's RestartSec (what Restart=on-failure leaves after a
      // SIGKILL): the pinned programs forward, no LACPDU is sent
      await sleep(Math.max(300, unitRestartMs()));
      b = await lab.startBondd(args);
      await sleep(1200);
    }
    // the planned hand-overs: a reload (what ExecReload does: SIGHUP, the same process runs the
    // program again with the fds kept) and a --takeover by a new process
    const readies = () => b.log().split('bond0: ready').length;
    const before = readies();
    b.proc.kill('SIGHUP');
    await waitFor(() => readies() > before, 10_000, 'ready again after the reload');
    await sleep(1200);
    const old = b;
    b = await lab.startBondd(['--takeover', ...args]);
    expect(await Promise.race([old.exited, sleep(5000).then(() => 'running')])).toBe(0);
    await sleep(1200);
    const p = pingSummary(await pinger);
    polling = false;
    await poller;
    expect(lab.bonddLog()).toContain('802.3ad state taken over from the earlier bondd');
    expect([...seen]).toEqual(['current attached | activity timeout aggregation synchronized collecting distributing']);
    expect(distributing().length).toBe(2);
    // the kernel path forwards through the gaps; the user path loses what they last
    expect(p.received).toBeGreaterThanOrEqual(process.env.TAPBOND_DATAPATH === 'user' ? 400 : p.sent);
  });

  it('slow: negotiates with OVS at the slow rate (state 61) and tshark dissects our LACPDUs cleanly', async () => {
    const o = startOvs('slow');
    const pcap = join(pcapDir, 'lacp.pcap');
    const cap = spawn('ip', ['netns', 'exec', lab.cli, 'timeout', '8', 'tcpdump', '-i', 'q0', '-U', '-w', pcap, 'ether proto 0x8809'], {
      stdio: 'ignore',
    });
    await sleep(500);
    await lab.startBondd(['--name', 'bond0', '--slaves', 's0,s1', 'mode=802.3ad', 'lacp_rate=slow']);
    await waitFor(() => distributing().length === 2, 8000, 'both ports distributing');
    await waitFor(() => portStates().every((s: number) => s === SLOW_STATE), 5000, 'actor state 61');
    await waitFor(() => o.lacpShow().negotiated, 5000, 'OVS negotiated');
    await exited(cap);
    // at the slow rate too, a link going down and up is removed and restored
    lab.sh(lab.cli, 'ip link set q0 down');
    await waitFor(() => distributing().join() === 's1', 3000, 's0 out');
    lab.sh(lab.cli, 'ip link set q0 up');
    await waitFor(() => distributing().length === 2, 10000, 's0 back');
    await waitFor(() => o.lacpShow().members.q0?.status === 'current attached', 10000, 'OVS sees q0 current again');
    if (have('tshark')) {
      const out = spawnSyncText('tshark', ['-r', pcap, '-V', '-Y', 'lacp']);
      expect(out).toContain('Link Aggregation Control Protocol');
      expect(out).toMatch(/Actor System ID: [0-9a-f:]{17}/i);
      expect(out).toMatch(/Actor State: 0x3d, LACP Activity, Aggregation, Synchronization, Collecting, Distributing/);
      expect(out).not.toMatch(/Malformed|Expert Info \((Warning|Error)/);
    }
  });

  it('bondd is the partner of bondd: both sides reach 63 and traffic flows', async () => {
    await lab.startBondd(['--name', 'bond0', '--slaves', 's0,s1', 'mode=802.3ad', 'lacp_rate=fast']);
    await lab.startBondd(['--name', 'bond0', '--slaves', 'q0,q1', 'mode=802.3ad', 'lacp_rate=fast'], 'bond0', lab.cli);
    await waitFor(() => distributing().length === 2 && distributing(lab.cli).length === 2, 8000, 'both sides distributing');
    await waitFor(
      () => [...portStates(), ...portStates(lab.cli)].every((s: number) => s === FAST_STATE),
      3000,
      'state 63 on all four ports',
    );
    lab.sh(lab.srv, 'ip addr add 198.18.0.1/24 dev bond0');
    lab.sh(lab.cli, 'ip addr add 198.18.0.2/24 dev bond0');
    await waitFor(() => lab.link(lab.srv, 'bond0').operstate === 'UP' && lab.link(lab.cli, 'bond0').operstate === 'UP', 3000, 'carriers');
    expect(pingSummary(lab.sh(lab.srv, 'ping -c 5 -i 0.05 -W 1 198.18.0.2')).received).toBe(5);
    const partner = lab.state('bond0', lab.cli).ports[0].lacp.partner;
    expect(partner.system).toBe(lab.state().mode.system_mac);
    // the partner's LACPDUs on q0 cut while carrier stays up: expired, then defaulted, then back
    lab.sh(
      lab.cli,
      'nft add table netdev cut && nft add chain netdev cut out "{ type filter hook egress device q0 priority 0; }" && nft add rule netdev cut out ether type 0x8809 drop',
    );
    await waitFor(() => lab.state().ports[0].lacp.rx_state === 'expired', 5000, 's0 expired');
    await waitFor(() => lab.state().ports[0].lacp.rx_state === 'defaulted', 5000, 's0 defaulted');
    expect(distributing()).toEqual(['s1']);
    // our next LACPDU (Sync cleared) takes the link out on the partner's side too
    await waitFor(() => distributing(lab.cli).join() === 'q1', 3000, 'partner stops distributing on q0');
    expect(pingSummary(lab.sh(lab.srv, 'ping -c 3 -i 0.1 -W 1 198.18.0.2')).received).toBe(3);
    lab.sh(lab.cli, 'nft delete table netdev cut');
    await waitFor(() => distributing().length === 2, 8000, 's0 back');
    lab.sh(lab.cli, 'ip link set q1 down');
    await waitFor(() => distributing().join() === 's0' && distributing(lab.cli).join() === 'q0', 3000, 'link 1 out on both sides');
    lab.sh(lab.cli, 'ip link set q1 up');
    await waitFor(() => distributing().length === 2 && distributing(lab.cli).length === 2, 8000, 'link 1 back on both sides');
  });

  it('without a partner: carrier as the kernel by default, down with lacp_strict=on', async () => {
    await lab.startBondd(['--name', 'bond0', '--slaves', 's0,s1', 'mode=802.3ad', 'lacp_rate=fast', 'lacp_strict=on']);
    await sleep(3500);
    expect(distributing()).toEqual([]);
    expect(lab.state().bond.carrier).toBe(false);
    await lab.stopBondd();
    await lab.startBondd(['--name', 'bond0', '--slaves', 's0,s1', 'mode=802.3ad', 'lacp_rate=fast']);
    await waitFor(() => distributing().length === 1, 4000, 'one individual link carries traffic');
    expect(lab.state().bond.carrier).toBe(true);
  });

  it('coupled_control=off on both bondd sides: negotiates and carries traffic', async () => {
    await lab.startBondd([
      '--name',
      'bond0',
      '--slaves',
      's0,s1',
      'mode=802.3ad',
      'lacp_rate=fast',
      'coupled_control=off',
      'broadcast_neighbor=on',
    ]);
    await lab.startBondd(
      ['--name', 'bond0', '--slaves', 'q0,q1', 'mode=802.3ad', 'lacp_rate=fast', 'coupled_control=off'],
      'bond0',
      lab.cli,
    );
    await waitFor(() => distributing().length === 2 && distributing(lab.cli).length === 2, 8000, 'both sides distributing');
    expect(lab.state().ports.map((p: { lacp: { mux_state: string } }) => p.lacp.mux_state)).toEqual(['distributing', 'distributing']);
    lab.sh(lab.srv, 'ip addr add 198.18.0.1/24 dev bond0');
    lab.sh(lab.cli, 'ip addr add 198.18.0.2/24 dev bond0');
    await waitFor(() => lab.link(lab.srv, 'bond0').operstate === 'UP' && lab.link(lab.cli, 'bond0').operstate === 'UP', 3000, 'carriers');
    // broadcast_neighbor: our ARP request reaches the partner on both links
    const before = [lab.stats(lab.cli, 'q0').rx_packets, lab.stats(lab.cli, 'q1').rx_packets];
    expect(pingSummary(lab.sh(lab.srv, 'ping -c 3 -i 0.1 -W 1 198.18.0.2')).received).toBe(3);
    const after = [lab.stats(lab.cli, 'q0').rx_packets, lab.stats(lab.cli, 'q1').rx_packets];
    expect(after[0] - before[0]).toBeGreaterThanOrEqual(1);
    expect(after[1] - before[1]).toBeGreaterThanOrEqual(1);
  });

  it('answers a Marker Information PDU with a Marker Response that tshark dissects cleanly', async () => {
    await lab.startBondd(['--name', 'bond0', '--slaves', 's0,s1', 'mode=802.3ad', 'lacp_rate=fast']);
    const pcap = join(pcapDir, 'marker.pcap');
    const cap = spawn(
      'ip',
      ['netns', 'exec', lab.cli, 'timeout', '3', 'tcpdump', '-i', 'q0', '-U', '-w', pcap, 'ether proto 0x8809 and ether[14] == 2'],
      { stdio: 'ignore' },
    );
    await sleep(500);
    lab.sh(
      lab.cli,
      `python3 -c "
import socket, struct
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW); s.bind(('q0', 0))
src = bytes.fromhex(open('/sys/class/net/q0/address').read().strip().replace(':', ''))
body = bytes([2, 1, 1, 16]) + struct.pack('>H', 7) + src + struct.pack('>I', 0x1234abcd) + bytes(2) + bytes(2) + bytes(90)
s.send(bytes.fromhex('0180c2000002') + src + b'\\x88\\x09' + body)"`,
    );
    await exited(cap);
    expect(lab.state().ports[0].lacp.stats).toMatchObject({ markerRx: 1, markerResponseTx: 1 });
    if (have('tshark')) {
      const out = spawnSyncText('tshark', ['-r', pcap, '-V']);
      expect(out).toMatch(/Marker Response Information/);
      expect(out).toMatch(/Requester Transaction ID: 305441741/);
      expect(out).not.toMatch(/Malformed|Expert Info \((Warning|Error)/);
    }
  });

  it('a guest on a bridge over bond0 keeps pinging the partner across the failure of its link', async () => {
    startOvs('fast');
    const guest = `${lab.prefix}-g`;
    spawnSync('ip', ['netns', 'add', guest]);
    lab.sh(
      lab.srv,
      `ip link add brvm type bridge stp_state 0 forward_delay 0 && ip link set brvm up && ip link add vm0 type veth peer name eth0 netns ${guest} && ip link set vm0 master brvm up`,
    );
    try {
      lab.sh(guest, 'ip link set lo up && ip link set eth0 address 52:54:00:12:34:56 up && ip addr add 198.18.0.50/24 dev eth0');
      await lab.startBondd([
        '--name',
        'bond0',
        '--slaves',
        's0,s1',
        'mode=802.3ad',
        'lacp_rate=fast',
        'miimon=20',
        'xmit_hash_policy=layer2+3',
      ]);
      await waitFor(() => distributing().length === 2, 6000, 'both ports distributing');
      lab.sh(lab.srv, 'ip link set bond0 master brvm');
      await waitFor(() => lab.link(lab.srv, 'bond0').operstate === 'UP', 3000, 'bond carrier');
      expect(pingSummary(lab.sh(guest, 'ping -c 3 -i 0.1 -W 1 198.18.0.2')).received).toBe(3);
      const rx = () => [lab.stats(lab.cli, 'q0').rx_packets, lab.stats(lab.cli, 'q1').rx_packets];
      const before = rx();
      lab.sh(guest, 'ping -c 20 -i 0.01 -W 1 198.18.0.2');
      const after = rx();
      const link = after[0] - before[0] >= after[1] - before[1] ? 'q0' : 'q1';
      const pinger = lab.shAsync(guest, 'ping -c 300 -i 0.01 -W 1 198.18.0.2');
      await sleep(800);
      lab.sh(lab.cli, `ip link set ${link} down`);
      const p = pingSummary(await pinger);
      console.log(`guest across the cut of ${link}: ${p.sent - p.received} of ${p.sent} pings (10 ms apart) lost`);
      expect(p.received).toBeGreaterThanOrEqual(285);
      expect(lab.state().bond.learned_mac_announcements).toBeGreaterThanOrEqual(1);
    } finally {
      spawnSync('ip', ['netns', 'del', guest]);
    }
  });
});

/**
 * A script of scripts/ run with `env`, interrupted after `ms`. Asynchronous: a worker blocked for
 * over 60 s in spawnSync misses vitest's RPC deadline.
 */
function runScript(name: string, env: Record<string, string>, ms: number) {
  return new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
    const c = spawn(process.execPath, [join(import.meta.dirname, '..', '..', 'scripts', name)], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    c.stdout.on('data', (d) => (stdout += d));
    c.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => c.kill('SIGINT'), ms);
    c.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

function spawnSyncText(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  return r.stdout + r.stderr;
}

describe.skipIf(mustSkip(reason || (have('iperf3') && have('tcpdump') ? '' : 'needs iperf3 and tcpdump')))(
  'LACPDU timing under load',
  () => {
    it('keeps the gap between LACPDUs under 1.5 s while iperf3 saturates the bond (15 s; scripts/lacp-soak.mjs)', () => {
      const r = spawnSync(process.execPath, [join(import.meta.dirname, '..', '..', 'scripts', 'lacp-soak.mjs')], {
        encoding: 'utf8',
        env: { ...process.env, SOAK_SECONDS: '15' },
        timeout: 90_000,
      });
      const result = JSON.parse(r.stdout);
      expect(result.iperf3_gbps).toBeGreaterThan(0.5);
      for (const p of ['s0', 's1']) {
        expect(result.lacpdu[p].pdus).toBeGreaterThanOrEqual(12);
        expect(result.lacpdu[p].max_gap_s).toBeLessThan(1.5);
      }
      // Open vSwitch's userspace receive drops LACPDUs under this load now and then (seen in the
      // Docker stage): such a member is reported; one whose link lacked bondd's LACPDUs is ours
      expect(result.ovs_member_not_current_charged_to_the_bond, JSON.stringify(result.ovs_member_not_current)).toEqual([]);
      expect(result.bondd_partner_expired).toEqual([0, 0]);
      expect(r.status).toBe(0);
    }, 120_000);

    it('soaks for 60 s: failovers, option changes and polling under full load, no leak, no LACP expiry, no probe lost by the bond outside the failovers (scripts/soak.mjs)', async () => {
      const r = await runScript('soak.mjs', { SOAK_SECONDS: '60' }, 150_000);
      const result = JSON.parse(r.stdout || '{}');
      console.log(`soak 60 s: ${JSON.stringify(result)}`);
      expect(result.failovers).toBeGreaterThanOrEqual(10);
      expect(result.option_changes).toBeGreaterThanOrEqual(8);
      expect(result.rss_growth_pct).toBeLessThan(5);
      expect(result.open_fds.max - result.open_fds.min).toBeLessThanOrEqual(2);
      expect(result.bondd_lacp_expired).toBe(0);
      // Open vSwitch may call a member not current under this load when its own receive drops
      // the LACPDUs (once in 60 samples inside the Docker test container): reported. A sample
      // where bondd's LACPDUs were missing from that link's wire in the 3 s before is the bond's.
      expect(result.ovs_member_not_current_charged_to_the_bond, JSON.stringify(result.ovs_member_not_current_samples)).toBe(0);
      expect(result.probe.received_end_to_end).toBeGreaterThan(0);
      // the bond itself loses no probe outside the failover windows while iperf3 saturates it,
      // as captures on the partner's links see it (what Open vSwitch's userspace receive then
      // drops behind them is reported, not ours); a capture that dropped frames proves nothing
      expect(result.probe.capture_drops).toBe(0);
      expect(result.probe.lost_by_the_bond_outside_failovers, JSON.stringify(result.probe)).toBe(0);
      // bondd's LACPDUs as the partner's links saw them: never 3 s apart (the fast timeout)
      for (const g of Object.values(result.lacpdus_on_the_wire) as { lacpdus: number; max_gap_s: number }[]) {
        expect(g.lacpdus).toBeGreaterThan(20);
        expect(g.max_gap_s).toBeLessThan(3);
      }
      // every bound the soak checks held (it exits 1 when one broke, 2 when it failed). Reports,
      // not bounds: the probe lost inside the failover windows, the event loop's delay
      expect(r.status, r.stderr).toBe(0);
    }, 180_000);

    it('retains no memory under control churn: two heap snapshots 40 s apart hold the same, compiled code aside (scripts/heap-growth.mjs)', async () => {
      const r = await runScript('heap-growth.mjs', { HEAP_SECONDS: '40' }, 150_000);
      const result = JSON.parse(r.stdout || '{}');
      console.log(`heap growth 40 s: ${JSON.stringify(result)}`);
      expect(result.retained_heap_kb?.first, r.stderr).toBeGreaterThan(1000);
      expect(result.grew_outside_code_kb, JSON.stringify(result.grew_most)).toBeLessThan(128);
      expect(r.status).toBe(0);
    }, 180_000);
  },
);
