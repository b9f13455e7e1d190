// Option parsing and validation: parse (names, numbers, `default`) -> validate (row type,
// modes, bond state preconditions, cross-option RULES) -> normalize (kernel rounding, reported).
// Every error names the option, the value and what is allowed.
import { isIPv4, isIPv6 } from 'node:net';
import { BondError } from '../errors.js';
import { MODE_INFO, type ModeName } from './modes.js';
import { parseMac } from '../util/mac.js';
import {
  OPTIONS,
  OPTION_BY_NAME,
  SLAVE_OPTIONS,
  describeAllowed,
  type BondOptions,
  type OptionDef,
  type OptionEffect,
  type OptionValue,
  type SlaveOptionDef,
} from './table.js';

export type { BondOptions, OptionName } from './table.js';

/** A working copy of options, field by field as the table has them. */
type OptionRecord = Record<string, OptionValue>;

function defaultRecord(): OptionRecord {
  const o: OptionRecord = {};
  for (const d of OPTIONS) o[d.name] = Array.isArray(d.default) ? [...d.default] : d.default;
  return o;
}

/**
 * The one place a record becomes BondOptions: every field comes from a row of OPTIONS (the
 * defaults) and every value went through parseValue() for that row.
 */
function asOptions(o: OptionRecord): BondOptions {
  return o as BondOptions;
}

export function defaultOptions(): BondOptions {
  return asOptions(defaultRecord());
}

function fail(def: OptionDef, raw: unknown, why?: string): never {
  const shown = Array.isArray(raw) ? raw.join(',') : String(raw);
  throw new BondError('EOPT_VALUE', `${def.name}: invalid value '${shown}'${why ? ` (${why})` : ''}; allowed: ${describeAllowed(def)}`);
}

const IFNAME_RE = /^[^\s/:]{1,15}$/;

/** Parses one raw value (string from a command line, or a JSON value) for an option row. */
export function parseValue(def: OptionDef, raw: unknown): OptionValue {
  if (raw === 'default') return Array.isArray(def.default) ? [...def.default] : def.default;
  switch (def.kind) {
    case 'enum': {
      const s = typeof raw === 'boolean' ? (raw ? '1' : '0') : String(raw).trim();
      const v = /^\d+$/.test(s) ? def.values!.find((x) => x.value === Number(s)) : def.values!.find((x) => x.name === s);
      if (!v) fail(def, raw);
      if (def.unsupportedValues?.includes(v.name)) {
        throw new BondError('EOPT_UNSUPPORTED', `${def.name}: value '${v.name}' is not supported yet; allowed: ${describeAllowed(def)}`);
      }
      return v.name;
    }
    case 'int': {
      const s = String(raw).trim();
      if (!/^\d+$/.test(s)) fail(def, raw);
      const n = Number(s);
      if (n < def.min! || n > def.max!) fail(def, raw, 'out of range');
      return n;
    }
    case 'ifname': {
      const s = String(raw ?? '').trim();
      if (s !== '' && !IFNAME_RE.test(s)) fail(def, raw);
      return s;
    }
    case 'mac': {
      const m = parseMac(String(raw));
      if (!m || m[0] & 1) fail(def, raw, m ? 'multicast' : undefined);
      return String(raw).toLowerCase();
    }
    case 'ipv4-list':
    case 'ipv6-list': {
      const items = (Array.isArray(raw) ? raw.map(String) : String(raw).split(/[\s,]+/)).map((s) => s.trim()).filter(Boolean);
      if (items.length > def.max!) fail(def, raw, `more than ${def.max}`);
      for (const it of items) {
        const ok =
          def.kind === 'ipv4-list'
            ? isIPv4(it) && !it.startsWith('0.') && it !== '255.255.255.255'
            : isIPv6(it) && it !== '::' && it !== '::1' && !/^ff/i.test(it);
        if (!ok) fail(def, it);
      }
      return items;
    }
  }
}

export function optionDef(name: string): OptionDef {
  const def = OPTION_BY_NAME.get(name);
  if (!def) throw new BondError('EOPT_UNKNOWN', `unknown option '${name}'; known options: ${OPTIONS.map((o) => o.name).join(', ')}`);
  return def;
}

function sameValue(a: OptionValue, b: OptionValue): boolean {
  return Array.isArray(a) && Array.isArray(b) ? a.length === b.length && a.every((x, i) => x === b[i]) : a === b;
}

/** The live facts an option change is checked against (kernel NOSLAVES / IFDOWN). */
export interface BondFacts {
  hasPorts: boolean;
  isUp: boolean;
  running: boolean;
}

function checkSettable(def: OptionDef, value: OptionValue, mode: ModeName, facts: BondFacts): void {
  if (!def.supported && !sameValue(value, def.default)) {
    throw new BondError('EOPT_UNSUPPORTED', `${def.name}: not supported yet in this version of tapbond (value '${String(value)}')`);
  }
  if (def.modes && !def.modes.includes(mode)) {
    throw new BondError(
      'EOPT_MODE',
      `${def.name}: not valid in mode ${mode} (${MODE_INFO[mode].id}); allowed in modes: ${def.modes.join(', ')}`,
    );
  }
  if (facts.running && def.startOnly) throw new BondError('EOPT_READONLY', `${def.name}: may only be given when the daemon starts`);
  if (def.noSlaves && facts.hasPorts)
    throw new BondError('EOPT_HAS_PORTS', `${def.name}: may only change while the bond has no slaves (release them first)`);
  if (def.ifDown && facts.isUp)
    throw new BondError('EOPT_BUSY', `${def.name}: may only change while the bond is down (ip link set <bond> down)`);
}

/** Cross-option constraints, checked on the whole candidate configuration. */
const RULES: { why: string; ok: (o: BondOptions) => boolean }[] = [
  // kernel compat (bond_netlink.c bond_changelink): both in one request is refused
  { why: 'miimon and arp_interval are mutually exclusive: set one of them to 0', ok: (o) => !(o.miimon > 0 && o.arp_interval > 0) },
  {
    why: 'arp_interval needs at least one arp_ip_target or ns_ip6_target',
    ok: (o) => o.arp_interval === 0 || o.arp_ip_target.length + o.ns_ip6_target.length > 0,
  },
];

function checkRules(o: BondOptions): void {
  for (const r of RULES) if (!r.ok(o)) throw new BondError('EOPT_CONFLICT', r.why);
}

/**
 * What the kernel's set handlers change besides the option itself (bond_options.c), for a
 * runtime change of `name` to `v` on `o`: each change is reported.
 */
function sideEffects(o: OptionRecord, name: string, v: OptionValue): string[] {
  const notes: string[] = [];
  if (name === 'mode') {
    const mode = v as ModeName;
    if (!MODE_INFO[mode].arpMonitor) {
      if (o.arp_interval !== 0) notes.push(`arp_interval: set to 0, mode ${mode} cannot use the ARP monitor`);
      o.arp_interval = 0;
      if (o.miimon === 0) {
        o.miimon = 100;
        notes.push(`miimon: set to 100 ms for mode ${mode}`);
      }
    }
    if (MODE_INFO[mode].dynamicLbOnly) o.tlb_dynamic_lb = 'on';
    o.arp_validate = 'none'; // not kept across modes
    o.broadcast_neighbor = 'off';
  } else if (name === 'miimon' && v !== 0 && o.arp_interval !== 0) {
    o.arp_interval = 0;
    o.arp_validate = 'none';
    notes.push('arp_interval: set to 0, the MII monitor replaces the ARP monitor');
  } else if (name === 'arp_interval' && v !== 0 && o.miimon !== 0) {
    o.miimon = 0;
    notes.push('miimon: set to 0, the ARP monitor replaces the MII monitor');
  }
  return notes;
}

/**
 * Kernel behaviour made explicit: use_carrier is always 1 (Linux 6.18); modes that need a link
 * monitor get miimon=100 when none is set; delays are rounded down to multiples of miimon.
 * Each change is reported.
 */
export function normalize(o: BondOptions): string[] {
  const notes: string[] = [];
  if (o.use_carrier === 'off') {
    o.use_carrier = 'on'; // Linux 6.18 keeps only 1
    notes.push('use_carrier: 0 is obsolete (Linux 6.18): the carrier is always used');
  }
  if (MODE_INFO[o.mode].needsSpeed && o.miimon === 0 && o.arp_interval === 0) {
    o.miimon = 100; // kernel compat: bond_check_params() forces miimon for 802.3ad/tlb/alb
    notes.push(`miimon: set to 100 ms, mode ${o.mode} needs a link monitor`);
  }
  for (const k of ['updelay', 'downdelay', 'peer_notif_delay'] as const) {
    if (o[k] === 0) continue;
    if (o.miimon === 0) {
      notes.push(`${k}: ${o[k]} ms has no effect without miimon`);
      continue;
    }
    const r = Math.floor(o[k] / o.miimon) * o.miimon; // kernel compat: stored as miimon ticks
    if (r !== o[k]) {
      notes.push(`${k}: ${o[k]} ms is not a multiple of miimon ${o.miimon}, rounded to ${r} ms`);
      o[k] = r;
    }
  }
  return notes;
}

export interface Resolved {
  options: BondOptions;
  notes: string[];
}

/**
 * Builds a bond's options from raw name=value pairs (command line or JSON), in the order the
 * kernel applies them: mode first, so mode restrictions are checked against the final mode.
 */
export function resolveOptions(
  raw: Record<string, unknown>,
  facts: BondFacts = { hasPorts: false, isUp: false, running: false },
): Resolved {
  const o = defaultRecord();
  const entries = Object.entries(raw);
  for (const [name] of entries) optionDef(name);
  const modeRaw = raw.mode;
  if (modeRaw !== undefined) o.mode = parseValue(optionDef('mode'), modeRaw);
  const mode = o.mode as ModeName;
  for (const [name, value] of entries) {
    if (name === 'mode') continue;
    const def = optionDef(name);
    const v = parseValue(def, value);
    checkSettable(def, v, mode, facts);
    o[def.aliasOf ?? name] = v;
    if (def.aliasOf) o[name] = v;
    else if (name === 'num_grat_arp') o.num_unsol_na = v;
  }
  checkSettable(optionDef('mode'), mode, mode, facts);
  const options = asOptions(o);
  checkRules(options);
  const notes = normalize(options);
  return { options, notes };
}

/**
 * One runtime change (`bondctl set`), as the kernel's set handler makes it (side effects
 * included): returns the new options, or throws without side effects.
 */
export function changeOption(current: BondOptions, name: string, raw: unknown, facts: BondFacts): Resolved {
  const def = optionDef(name);
  const v = parseValue(def, raw);
  const next: OptionRecord = structuredClone({ ...current });
  const mode = (name === 'mode' ? v : current.mode) as ModeName;
  checkSettable(def, v, mode, facts);
  if ((name === 'updelay' || name === 'downdelay' || name === 'peer_notif_delay') && current.miimon === 0) {
    // kernel compat (_bond_option_delay_set): -EPERM
    throw new BondError('EOPT_CONFLICT', `${name}: cannot be set while the MII monitor is off (miimon=0); set miimon first`);
  }
  next[def.aliasOf ?? name] = v;
  if (def.aliasOf) next[name] = v;
  else if (name === 'num_grat_arp') next.num_unsol_na = v;
  const effects = sideEffects(next, name, v);
  const options = asOptions(next);
  checkRules(options);
  return { options, notes: [...effects, ...normalize(options)] };
}

/** What a change from `prev` to `next` takes (the table's effect column, for every field that changed). */
export function changedEffects(prev: Readonly<BondOptions>, next: Readonly<BondOptions>): Set<OptionEffect> {
  const effects = new Set<OptionEffect>();
  for (const d of OPTIONS) {
    const name = d.name as keyof BondOptions;
    if (d.effect && !sameValue(prev[name], next[name])) effects.add(d.effect);
  }
  return effects;
}

/** Splits `key=value` words as modprobe takes them. */
export function parseOptionWords(words: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const w of words) {
    const i = w.indexOf('=');
    if (i <= 0) throw new BondError('EOPT_VALUE', `'${w}': expected option=value (for example mode=active-backup)`);
    out[w.slice(0, i).trim()] = w.slice(i + 1).trim();
  }
  return out;
}

/**
 * A per-slave option (`actor_port_prio=100`, or `default`), checked against SLAVE_OPTIONS and the
 * bond's mode; errors name the option, the value and what is allowed.
 */
export function parseSlaveOption(name: string, raw: unknown, mode: ModeName): { def: SlaveOptionDef; value: number } {
  const def = SLAVE_OPTIONS.find((d) => d.name === name);
  if (!def) throw new BondError('EOPT_UNKNOWN', `unknown slave option '${name}'; allowed: ${SLAVE_OPTIONS.map((d) => d.name).join(', ')}`);
  if (def.modes && !def.modes.includes(mode)) {
    throw new BondError('EOPT_MODE', `${name}: not valid in mode ${mode}; allowed in ${def.modes.join(', ')}`);
  }
  const text = String(raw).trim();
  const value = text === 'default' ? def.default : Number(text);
  if (text === '' || !Number.isInteger(value) || value < def.min || value > def.max) {
    throw new BondError(
      'EOPT_VALUE',
      `${name}: invalid value '${String(raw)}'; allowed: an integer from ${def.min} to ${def.max}, or default (${def.default})`,
    );
  }
  return { def, value };
}

/** `SLAVE:NAME=VALUE` (bondd --slave-option). */
export function parseSlaveOptionWord(word: string): { slave: string; name: string; value: string } {
  const m = /^([^\s/:]{1,15}):([a-z_0-9]+)=(.*)$/.exec(word);
  if (!m)
    throw new BondError('EOPT_VALUE', `--slave-option: invalid value '${word}'; allowed: SLAVE:NAME=VALUE, e.g. eth1:actor_port_prio=100`);
  return { slave: m[1], name: m[2], value: m[3] };
}
