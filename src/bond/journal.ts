// The crash journal, /run/tapbond/<bond>.state: what this process is changing on each slave,
// written atomically (a temporary file, fsync, rename) before a slave is touched and again when
// what it attached is known, removed when the slave is restored and on a clean stop. A journal
// left by a process that is gone is a dead daemon's: recoverJournal() puts every slave it names
// back. The file holds each slave's state as it was before the first change, nothing later.
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { BondError } from '../errors.js';
import type { HostNetRecord } from '../host/l3.js';
import type { StackBlock } from '../net/rtnl.js';
import type { SavedLink } from '../port/port.js';
import { formatMac, parseMac } from '../util/mac.js';

export const JOURNAL_VERSION = 1;

/** One slave as the journal stores it (MAC as text). */
export interface JournalSlave {
  name: string;
  ifindex: number;
  mac: string;
  mtu: number;
  flags: number;
  disableIpv6: string | null;
  /** Absent while the slave is being prepared: what was attached is not known yet. */
  stackBlock?: StackBlock;
  /** Whether the slave had a clsact qdisc before it was touched (absent in older journals). */
  hadClsact?: boolean;
  phase: 'preparing' | 'enslaved';
  /** The engine port it had (kept when a later bondd adopts it: the pinned plans name it). */
  port?: number;
}

export interface JournalFile {
  version: number;
  bond: string;
  pid: number;
  started: string;
  slaves: JournalSlave[];
  /** The TAP, made persistent: a later bondd adopts it when this ifindex still has the name. */
  tap?: { ifindex: number };
  /** Where the kernel path's links and maps are pinned (a bpffs folder), when they are. */
  pins?: string;
  /** Set by a clean stop that left the bond running: the active slave then. */
  detached?: { at: string; active: string | null };
  /** The mode's protocol state (802.3ad: LACP), for the next bondd to go on from. */
  mode?: { name: string; state: unknown };
  /** What bondd did around the bond (bridge, routes, DHCP clients, DNS): undone with the bond. */
  hostnet?: HostNetRecord;
}

export function journalPath(runDir: string, bond: string): string {
  return `${runDir.replace(/\/+$/, '')}/${bond}.state`;
}

/** Writes `text` to `path` so that a reader sees the old file or the new one, never half of one. */
function writeAtomically(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.${process.pid}.tmp`;
  const fd = openSync(tmp, 'w', 0o600);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}

/** The journal at `path`, or null when there is none. A file that is not a journal is an error. */
export function readJournal(path: string): JournalFile | null {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
  let j: JournalFile;
  try {
    j = JSON.parse(text) as JournalFile;
  } catch {
    throw new BondError('EJOURNAL', `${path}: not a tapbond state journal (not JSON); move it away to start`);
  }
  if (j.version !== JOURNAL_VERSION || !Array.isArray(j.slaves) || typeof j.pid !== 'number') {
    throw new BondError('EJOURNAL', `${path}: not a version ${JOURNAL_VERSION} tapbond state journal; move it away to start`);
  }
  return j;
}

/** Whether `pid` is a running bondd (a pid reused by another program does not count). */
export function isLiveBondd(pid: number): boolean {
  if (pid === process.pid) return false;
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('bondd');
  } catch {
    return false;
  }
}

export function toSaved(s: JournalSlave): SavedLink {
  return {
    name: s.name,
    ifindex: s.ifindex,
    mac: parseMac(s.mac) ?? new Uint8Array(6),
    mtu: s.mtu,
    flags: s.flags,
    disableIpv6: s.disableIpv6,
    stackBlock: s.stackBlock,
    ...(s.hadClsact !== undefined ? { hadClsact: s.hadClsact } : {}),
  };
}

/** This process's journal for one bond. */
export class Journal {
  private readonly file: JournalFile;

  /**
   * `from`: the journal of an earlier bondd whose bond this process adopts: its slaves (as they
   * were before that first bond), TAP and pins carry on under this process's pid.
   */
  constructor(
    readonly path: string,
    bond: string,
    from?: JournalFile,
  ) {
    this.file = { version: JOURNAL_VERSION, bond, pid: process.pid, started: new Date().toISOString(), slaves: [] };
    if (from) {
      this.file.slaves = from.slaves.map((s) => ({ ...s }));
      if (from.tap) this.file.tap = from.tap;
      if (from.pins) this.file.pins = from.pins;
      if (from.mode) this.file.mode = from.mode;
      if (from.hostnet) this.file.hostnet = from.hostnet;
      this.write();
    }
  }

  /** The persistent TAP and the pin folder (written at once: a crash from here on leaves them). */
  bond(tap: { ifindex: number }, pins: string | null): void {
    this.file.tap = tap;
    if (pins) this.file.pins = pins;
    else delete this.file.pins;
    this.write();
  }

  /** The mode's protocol state now (written when what it says changed; see Bond). */
  modeState(name: string, state: unknown): void {
    this.file.mode = { name, state };
    this.write();
  }

  /** What was done around the bond (written at once: a crash from here on leaves it). */
  hostnet(rec: HostNetRecord): void {
    this.file.hostnet = rec;
    this.write();
  }

  /** A clean stop left the bond running for the next bondd. */
  detached(active: string | null): void {
    this.file.detached = { at: new Date().toISOString(), active };
    this.write();
  }

  /** Records `saved` (the slave before any change) in `phase`; written before returning. */
  record(saved: SavedLink, phase: JournalSlave['phase'], port?: number): void {
    const entry: JournalSlave = {
      name: saved.name,
      ifindex: saved.ifindex,
      mac: formatMac(saved.mac),
      mtu: saved.mtu,
      flags: saved.flags,
      disableIpv6: saved.disableIpv6,
      ...(saved.stackBlock ? { stackBlock: saved.stackBlock } : {}),
      ...(saved.hadClsact !== undefined ? { hadClsact: saved.hadClsact } : {}),
      phase,
      ...(port !== undefined ? { port } : {}),
    };
    const i = this.file.slaves.findIndex((s) => s.ifindex === saved.ifindex);
    if (i >= 0) this.file.slaves[i] = entry;
    else this.file.slaves.push(entry);
    this.write();
  }

  /** The slave is back as it was: nothing to recover for it. */
  forget(ifindex: number): void {
    this.file.slaves = this.file.slaves.filter((s) => s.ifindex !== ifindex);
    this.write();
  }

  /** A clean stop: every slave is restored. */
  remove(): void {
    rmSync(this.path, { force: true });
  }

  private write(): void {
    writeAtomically(this.path, JSON.stringify(this.file, null, 2) + '\n');
  }
}
