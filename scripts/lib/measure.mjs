// Measuring helpers shared by the benchmark's sections: shell in a namespace, CPU seconds of the
// machine and of one process, a process's RSS, medians, waiting for a condition.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** @param {number} ms */
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * `sh -c cmd` in network namespace `ns`; its stdout.
 * @param {string} ns
 * @param {string} cmd
 * @param {number} [timeout] ms
 */
export const sh = (ns, cmd, timeout = 60_000) => execFileSync('ip', ['netns', 'exec', ns, 'sh', '-c', cmd], { encoding: 'utf8', timeout });

/** @param {number[]} xs */
export const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Busy CPU time of the whole machine so far, in seconds (/proc/stat: all but idle and iowait). */
export function busySeconds() {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const [user, nice, system, , , irq, softirq, steal] = f;
  return (user + nice + system + irq + softirq + steal) / 100; // USER_HZ
}

/**
 * utime + stime of a process, in seconds.
 * @param {number} pid
 */
export function procSeconds(pid) {
  const st = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
}

/**
 * Resident memory of a process in MB (bondd runs under `ip netns exec`, which execs node in
 * place: the spawned pid is bondd).
 * @param {number} pid
 */
export function rssMb(pid) {
  const st = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(st)?.[1]) / 1024;
}

/**
 * Seconds until `pred` holds (polled every 50 ms), or null after `ms`.
 * @param {() => boolean | Promise<boolean>} pred
 * @param {number} ms
 */
export async function waitUntil(pred, ms) {
  const t0 = Date.now();
  while (Date.now() - t0 < ms) {
    if (await pred()) return (Date.now() - t0) / 1000;
    await sleep(50);
  }
  return null;
}

/**
 * A counter of every interface in `ns` whose name matches `re`, by name.
 * @param {string} ns
 * @param {RegExp} re
 * @param {string} counter e.g. 'tx_packets'
 * @returns {Record<string, number>}
 */
export function counters(ns, re, counter) {
  const out = sh(ns, `for d in /sys/class/net/*; do echo "$(basename $d) $(cat $d/statistics/${counter})"; done`);
  /** @type {Record<string, number>} */
  const r = {};
  for (const line of out.trim().split('\n')) {
    const [name, v] = line.split(' ');
    if (re.test(name)) r[name] = Number(v);
  }
  return r;
}

/**
 * Rows of cells as a Markdown table, columns padded to their widest cell.
 * @param {string[][]} rows
 */
export function markdownTable(rows) {
  const w = rows[0].map((_, i) => Math.max(...rows.map((x) => x[i].length)));
  return rows.map((x) => '| ' + x.map((c, i) => c.padEnd(w[i])).join(' | ') + ' |').join('\n') + '\n';
}
