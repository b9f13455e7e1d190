// docs/options.md, generated from the option table (scripts/gen-options-doc.mjs writes it; a
// unit test checks the committed file is current). Pure.
import { MODE_INFO, MODE_NAMES, type ModeName } from './modes.js';
import { OPTIONS, SLAVE_OPTIONS, describeAllowed } from './table.js';

export function optionsMarkdown(): string {
  const L: string[] = [];
  L.push('# Bonding options');
  L.push('');
  L.push('Generated from `src/options/table.ts` by `npm run docs`; do not edit by hand.');
  L.push('');
  L.push("Names, values, defaults, ranges and mode restrictions are the kernel bonding driver's. Give them");
  L.push('as `name=value` words to `bondd` (as modprobe takes them), as keys of a `--config` JSON file, in');
  L.push('`BONDING_OPTS` of an ifcfg file or an `options` line of a modprobe file, or change them at runtime');
  L.push('with `bondctl set <bond> name=value`. Enumerations accept the name or the number, and every');
  L.push('option accepts `default`.');
  L.push('');
  L.push('Options marked *(tapbond)* are not in the kernel driver: they cover what a userspace bond');
  L.push('needs that the kernel never did.');
  L.push('');
  L.push('"Modes" are where the kernel accepts the option (its `unsuppmodes`); where that is more than');
  L.push('the modes in which the option does anything, "effect in" says which: elsewhere it is accepted');
  L.push('and kept, silently, as the kernel does (`xmit_hash_policy=layer2+3` in active-backup).');
  L.push('');
  L.push('| option | values | default | modes | effect in | may change | status |');
  L.push('|---|---|---|---|---|---|---|');
  for (const o of OPTIONS) {
    const dflt = Array.isArray(o.default) ? o.default.join(', ') || 'none' : String(o.default) || 'none';
    const list = (ms: readonly ModeName[] | undefined) =>
      !ms || ms.length === MODE_NAMES.length ? 'all' : ms.map((m) => `${m} (${MODE_INFO[m].id})`).join(', ');
    const modes = list(o.modes);
    const effect = o.effective ? list(o.effective) : '';
    const when = o.startOnly
      ? 'at start only'
      : [o.noSlaves ? 'with no slaves' : '', o.ifDown ? 'with the bond down' : ''].filter(Boolean).join(', ') || 'any time';
    const status = !o.supported
      ? 'not supported yet (the default is accepted)'
      : o.unsupportedValues?.length
        ? `not yet: ${o.unsupportedValues.join(', ')}`
        : 'supported';
    L.push(
      `| \`${o.name}\`${o.extension ? ' *(tapbond)*' : ''} | ${describeAllowed(o)
        .replace(/; not supported yet: .*$/, '')
        .replace(/\|/g, '\\|')} | ${dflt} | ${modes} | ${effect} | ${when} | ${status} |`,
    );
  }
  L.push('');
  L.push('## Descriptions');
  L.push('');
  for (const o of OPTIONS) L.push(`- \`${o.name}\`${o.unit ? ` (${o.unit})` : ''}: ${o.desc}.`);
  L.push('');
  L.push('## Per-slave options');
  L.push('');
  L.push('The kernel sets these with `ip link set DEV type bond_slave NAME VALUE`; here with');
  L.push('`bondctl set-slave <bond> <slave> name=value`, `bondd --slave-option SLAVE:name=value` or the JSON');
  L.push('`"slave_options": { "eth1": { "name": value } }`.');
  L.push('');
  L.push('| option | values | default | modes | description |');
  L.push('|---|---|---|---|---|');
  for (const o of SLAVE_OPTIONS) {
    L.push(`| \`${o.name}\` | ${o.min} to ${o.max} | ${o.default} | ${o.modes ? o.modes.join(', ') : 'all'} | ${o.desc} |`);
  }
  L.push('');
  return L.join('\n');
}
