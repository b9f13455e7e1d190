// The layers of src/, top to bottom: a module imports only from layers below its own, or from
// its own folder. `npm run layers` (part of `npm test`) fails on any other import, and on cycles.
// docs/architecture.md "Layout" draws the same picture.
const LAYERS = [
  ['cli', ['^src/cli/']],
  ['daemon', ['^src/daemon\\.ts$', '^src/handover\\.ts$']],
  ['front ends', ['^src/control/', '^src/config/', '^src/metrics\\.ts$']],
  ['report', ['^src/report/']],
  ['bond', ['^src/bond/']],
  ['state', ['^src/state/']],
  ['modes and link monitors', ['^src/modes/', '^src/monitors/(?!arp\\.ts$)']],
  ['ports and host', ['^src/port/', '^src/host/']],
  ['options', ['^src/options/']],
  ['kernel fast path', ['^src/fastpath/']],
  ['datapath', ['^src/datapath/']],
  ['engines', ['^src/lacp/', '^src/alb/', '^src/monitors/arp\\.ts$']],
  ['net', ['^src/net/']],
  ['native', ['^src/native/']],
  ['base', ['^src/util/', '^src/errors\\.ts$', '^src/version\\.ts$']],
];

const group = (paths) => `(${paths.join('|')})`;
const rules = [];
LAYERS.forEach(([name, paths], i) => {
  const above = LAYERS.slice(0, i).flatMap(([, p]) => p);
  if (above.length) {
    rules.push({
      name: `layer-${name.replace(/\W+/g, '-')}`,
      comment: `${name} may not import from a layer above it`,
      severity: 'error',
      from: { path: group(paths) },
      to: { path: group(above) },
    });
  }
  // siblings in one layer stay apart (modes never import monitors, control never imports config)
  paths.forEach((p, j) => {
    const others = paths.filter((_, k) => k !== j);
    if (!others.length) return;
    rules.push({
      name: `sibling-${name.replace(/\W+/g, '-')}-${j}`,
      comment: `${p} may not import its siblings in layer ${name}`,
      severity: 'error',
      from: { path: p },
      to: { path: group(others) },
    });
  });
});
rules.push({ name: 'no-circular', severity: 'error', from: {}, to: { circular: true } });
rules.push({
  name: 'src-not-test',
  comment: 'src never imports test helpers (the in-memory binding lives in test/helpers)',
  severity: 'error',
  from: { path: '^src/' },
  to: { path: '^test/' },
});
rules.push({
  name: 'every-module-in-a-layer',
  comment: 'a new top-level module of src/ needs a place in LAYERS',
  severity: 'error',
  from: { path: '^src/', pathNot: group(LAYERS.flatMap(([, p]) => p)) },
  to: {},
});

module.exports = {
  forbidden: rules,
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js', '.mjs', '.d.mts'] },
  },
};
