// Reads one sample from Prometheus text exposition: the first line of `name` whose labels
// include all of `labels`, or undefined.
export function metricSample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const lab = /\{(.*)\}/.exec(line)?.[1] ?? '';
    if (Object.entries(labels).every(([k, v]) => lab.includes(`${k}="${v}"`))) return Number(line.split(' ').pop());
  }
  return undefined;
}
