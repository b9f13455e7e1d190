// Reads modprobe configuration for the bonding module, as users already have it in
// /etc/modprobe.d/*.conf or /etc/modprobe.conf:
//   alias bond0 bonding
//   options bonding mode=active-backup miimon=100 max_bonds=2     (every bond the module makes)
//   options bond1 -o bond1 mode=balance-rr miimon=50              (one aliased bond; old style)
// Comments (#) and backslash continuations are understood; lines for other modules are ignored.
import { BondError } from '../errors.js';
import { parseOptionWords } from '../options/parse.js';

export interface ModprobeBond {
  name: string;
  /** Options given for this bond (an `options bondN ...` line): applied strictly. */
  options: Record<string, string>;
  /**
   * Module-wide options (`options bonding ...`): as bond_check_params() does, one that has no
   * effect in the bond's mode is ignored with a warning rather than refused.
   */
  moduleOptions: Record<string, string>;
  /** Named by the file (`alias bondN bonding` or `options bondN ...`), not only made by max_bonds. */
  named: boolean;
}

function logicalLines(text: string): { line: string; no: number }[] {
  const out: { line: string; no: number }[] = [];
  let acc = '';
  let start = 0;
  text.split('\n').forEach((raw, i) => {
    const l = raw.replace(/#.*$/, '');
    if (!acc) start = i + 1;
    if (/\\\s*$/.test(l)) {
      acc += l.replace(/\\\s*$/, ' ');
      return;
    }
    acc += l;
    if (acc.trim()) out.push({ line: acc.trim(), no: start });
    acc = '';
  });
  if (acc.trim()) out.push({ line: acc.trim(), no: start });
  return out;
}

/** The bonds a modprobe configuration creates, in order, with their option words. */
export function parseModprobe(text: string, file = 'modprobe.conf'): ModprobeBond[] {
  const aliases: string[] = [];
  const global: Record<string, string> = {};
  const perAlias = new Map<string, Record<string, string>>();
  for (const { line, no } of logicalLines(text)) {
    const [cmd, mod, ...rest] = line.split(/\s+/);
    const where = `${file}:${no}`;
    if (cmd === 'alias' && rest[0] === 'bonding') {
      if (!/^[^\s/:]{1,15}$/.test(mod)) throw new BondError('EOPT_VALUE', `${where}: invalid bond name '${mod}'`);
      if (!aliases.includes(mod)) aliases.push(mod);
    } else if (cmd === 'options' && (mod === 'bonding' || aliases.includes(mod) || /^bond/.test(mod))) {
      const words = rest.filter((w, i) => !(w === '-o' || rest[i - 1] === '-o'));
      let opts: Record<string, string>;
      try {
        opts = parseOptionWords(words);
      } catch (e) {
        throw new BondError('EOPT_VALUE', `${where}: ${(e as Error).message}`);
      }
      if (mod === 'bonding') Object.assign(global, opts);
      else perAlias.set(mod, { ...(perAlias.get(mod) ?? {}), ...opts });
    }
  }
  const maxBonds = global.max_bonds !== undefined ? Number(global.max_bonds) : undefined;
  if (maxBonds !== undefined && (!Number.isInteger(maxBonds) || maxBonds < 0)) {
    throw new BondError('EOPT_VALUE', `${file}: max_bonds: invalid value '${global.max_bonds}'; allowed: an integer from 0`);
  }
  const { max_bonds: _omit, ...shared } = global;
  const names = [...aliases];
  for (const n of perAlias.keys()) if (!names.includes(n)) names.push(n);
  // the module creates bond0..bond{max_bonds-1} (default 1) when loaded
  const count = maxBonds ?? (names.length ? 0 : 1);
  for (let i = 0; i < count; i++) if (!names.includes(`bond${i}`)) names.push(`bond${i}`);
  return names.map((name) => ({
    name,
    options: { ...(perAlias.get(name) ?? {}) },
    moduleOptions: { ...shared },
    named: aliases.includes(name) || perAlias.has(name),
  }));
}
