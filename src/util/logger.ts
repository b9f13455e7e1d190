// One line per event, starting with the object it is about: "s1: link down", "bond0: active s1 -> s2".
export interface Logger {
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
  debug(msg: string): void;
}

export function consoleLogger(opts: { debug?: boolean; stream?: NodeJS.WritableStream } = {}): Logger {
  const out = opts.stream ?? process.stderr;
  const line = (lvl: string, msg: string) => out.write(`${new Date().toISOString()} ${lvl} ${msg}\n`);
  return {
    info: (m) => line('info', m),
    warn: (m) => line('warn', m),
    error: (m) => line('error', m),
    debug: (m) => (opts.debug ? line('debug', m) : undefined),
  };
}

/** Collects lines in memory (tests). */
export class MemoryLogger implements Logger {
  readonly lines: string[] = [];
  info(m: string) { this.lines.push(`info ${m}`); }
  warn(m: string) { this.lines.push(`warn ${m}`); }
  error(m: string) { this.lines.push(`error ${m}`); }
  debug(m: string) { this.lines.push(`debug ${m}`); }
}

export const silentLogger: Logger = { info() {}, warn() {}, error() {}, debug() {} };
