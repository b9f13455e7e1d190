// A writable stream that keeps what is written to it (log output under test).
import { Writable } from 'node:stream';

export function capture() {
  const chunks: string[] = [];
  const stream = new Writable({
    write(c, _e, cb) {
      chunks.push(String(c));
      cb();
    },
  });
  return { stream, text: () => chunks.join('') };
}
