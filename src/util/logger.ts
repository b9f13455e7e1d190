// Logging: one line per event. Every line about a bond carries `bond`, every line about a slave
// also `slave`, and state changes an `event` name, as fields (pino JSON) and in the text form
// "bond0 s1: link down". The bond and slave come from child loggers, never from the message.
import { pino, type Logger as PinoLogger } from 'pino';
import pretty from 'pino-pretty';

export interface LogFields {
  bond?: string;
  slave?: string;
  /** A stable name for a state change: link-up, link-down, active-change, ... */
  event?: string;
  [key: string]: unknown;
}

export interface Logger {
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  debug(msg: string, fields?: LogFields): void;
  /** A logger whose lines all carry these fields (a bond's, a slave's). */
  child(fields: LogFields): Logger;
}

/** "bond0 s1: msg", "bond0: msg" or "msg": the text form of a line. */
export function textLine(msg: string, f: LogFields | undefined): string {
  if (!f?.bond && !f?.slave) return msg;
  return `${[f.bond, f.slave].filter(Boolean).join(' ')}: ${msg}`;
}

export type LogFormat = 'json' | 'pretty';
export const LOG_FORMATS: readonly LogFormat[] = ['json', 'pretty'];

type Level = 'info' | 'warn' | 'error' | 'debug';

/** The four levels, each one call of `line`: what every logger here implements differently. */
abstract class LevelLogger implements Logger {
  protected abstract line(level: Level, msg: string, f?: LogFields): void;
  abstract child(fields: LogFields): Logger;
  info(msg: string, f?: LogFields) {
    this.line('info', msg, f);
  }
  warn(msg: string, f?: LogFields) {
    this.line('warn', msg, f);
  }
  error(msg: string, f?: LogFields) {
    this.line('error', msg, f);
  }
  debug(msg: string, f?: LogFields) {
    this.line('debug', msg, f);
  }
}

class PinoAdapter extends LevelLogger {
  constructor(private readonly p: PinoLogger) {
    super();
  }
  protected line(level: Level, msg: string, f?: LogFields) {
    this.p[level](f ?? {}, msg);
  }
  child(fields: LogFields): Logger {
    return new PinoAdapter(this.p.child(fields));
  }
}

/**
 * The daemon's logger: pino JSON lines on stderr (journald, docker logs, log shippers), or the
 * same records rendered for a terminal by pino-pretty ("pretty", the default on a TTY).
 */
export function pinoLogger(opts: { format?: LogFormat; debug?: boolean; stream?: NodeJS.WritableStream } = {}): Logger {
  const out = opts.stream ?? process.stderr;
  const format = opts.format ?? ((out as NodeJS.WriteStream).isTTY ? 'pretty' : 'json');
  const base = { level: opts.debug ? 'debug' : 'info', base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime };
  const dest =
    format === 'pretty'
      ? pretty({
          destination: out,
          sync: true,
          colorize: (out as NodeJS.WriteStream).isTTY === true,
          translateTime: 'SYS:HH:MM:ss.l',
          hideObject: true,
          messageFormat: (log, key) => textLine(String(log[key]), log as LogFields),
        })
      : out === process.stderr
        ? pino.destination({ dest: 2, sync: true })
        : out;
  return new PinoAdapter(pino(base, dest));
}

/** Collects text lines in memory ("info bond0 s1: link down"), with their fields (tests). */
export class MemoryLogger extends LevelLogger {
  readonly lines: string[] = [];
  readonly records: { level: string; msg: string; fields: LogFields }[] = [];
  constructor(
    private readonly fields: LogFields = {},
    private readonly sink?: MemoryLogger,
  ) {
    super();
  }
  protected line(level: Level, msg: string, f?: LogFields) {
    const fields = { ...this.fields, ...f };
    const root = this.sink ?? this;
    root.lines.push(`${level} ${textLine(msg, fields)}`);
    root.records.push({ level, msg, fields });
  }
  child(fields: LogFields): Logger {
    return new MemoryLogger({ ...this.fields, ...fields }, this.sink ?? this);
  }
}

/**
 * A logger whose lines (and its children's) can be held back while something time-critical
 * runs and are then written in order: a failover's lines go out after the datapath has the new
 * plan, since formatting and writing them costs a fraction of a millisecond the outage would
 * otherwise include. A line's timestamp is when it is written.
 */
export class HoldingLogger extends LevelLogger {
  private constructor(
    private readonly inner: Logger,
    private readonly q: { depth: number; held: [Logger, Level, string, LogFields | undefined][] },
  ) {
    super();
  }

  static over(inner: Logger): HoldingLogger {
    return new HoldingLogger(inner, { depth: 0, held: [] });
  }

  /** Runs `fn` with every line held, then writes them (also when `fn` throws). */
  holding<T>(fn: () => T): T {
    this.q.depth++;
    try {
      return fn();
    } finally {
      if (--this.q.depth === 0) {
        const lines = this.q.held.splice(0);
        for (const [to, level, msg, f] of lines) to[level](msg, f);
      }
    }
  }

  protected line(level: Level, msg: string, f?: LogFields): void {
    if (this.q.depth > 0) this.q.held.push([this.inner, level, msg, f]);
    else this.inner[level](msg, f);
  }
  child(fields: LogFields): Logger {
    return new HoldingLogger(this.inner.child(fields), this.q);
  }
}
