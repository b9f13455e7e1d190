// Results files: `npm run bench`, `npm run soak` and `npm run heap-growth` each write one dated
// JSON file under docs/results/ (RESULTS_DIR overrides), saying what ran, where and on which
// revision, so that a reader can find the run behind a table in the docs and repeat it. Run
// otherwise (the test suite runs the soaks with node directly), they write none.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** @param {string[]} argv */
function git(argv) {
  try {
    return execFileSync('git', ['-C', ROOT, ...argv], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return null;
  }
}

/**
 * What a result was measured on and with.
 * @param {string} script e.g. 'npm run bench'
 */
export function provenance(script) {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => /^(BENCH|SOAK|HEAP)_/.test(k)));
  const rev = git(['rev-parse', 'HEAD']);
  const dirty = git(['status', '--porcelain', '--untracked-files=no']);
  let kernel = null;
  try {
    kernel = execFileSync('uname', ['-r'], { encoding: 'utf8' }).trim();
  } catch {
    /* not on Linux */
  }
  return {
    date: new Date().toISOString(),
    command: [...Object.entries(env).map(([k, v]) => `${k}=${v}`), script].join(' '),
    git: rev ? { revision: rev, dirty: !!dirty } : null,
    machine: {
      cpus: cpus().length,
      cpu_model: cpus()[0]?.model ?? null,
      memory_gb: Math.round(totalmem() / 2 ** 30),
      kernel,
      node: process.version,
    },
  };
}

/**
 * Writes `data` with its provenance to docs/results/NAME-DATE.json and returns the path relative
 * to the repository; null (nothing written) when not run as an npm script and no RESULTS_DIR
 * or `fallback` folder is given.
 * @param {string} name the npm script's name, e.g. 'bench'
 * @param {string} script the command that ran, e.g. 'npm run bench'
 * @param {object} data
 * @param {string} [fallback] a folder for runs outside npm (relative to the repository)
 */
export function writeResult(name, script, data, fallback) {
  // `npm run NAME` itself, not a script run under another npm script (the soaks under npm test)
  const viaNpm = process.env.npm_lifecycle_event === name;
  const dir = process.env.RESULTS_DIR ?? (viaNpm ? join(ROOT, 'docs', 'results') : fallback && join(ROOT, fallback));
  if (!dir) return null;
  mkdirSync(dir, { recursive: true });
  const p = provenance(script);
  const file = join(dir, `${name}-${p.date.slice(0, 19).replace(/:/g, '-')}.json`);
  writeFileSync(file, JSON.stringify({ ...p, ...data }, null, 2) + '\n');
  return relative(ROOT, file);
}
