// A small leveled logger. Foreground: stderr. Background: syslog via
// logger(1) would fork per line, so the daemon writes to stderr and the CLI
// redirects that to the system log when it detaches (see cli/daemonize.ts).
import { writeSync } from 'node:fs';

export type LogLevel = 'error' | 'warn' | 'info' | 'debug';
const rank: Record<LogLevel, number> = { error: 0, warn: 1, info: 2, debug: 3 };

export interface Logger {
  error(msg: string): void;
  warn(msg: string): void;
  info(msg: string): void;
  debug(msg: string): void;
  /** Logs a message once per key for the life of the process. */
  once(key: string, level: LogLevel, msg: string): void;
  readonly level: LogLevel;
  setLevel(level: LogLevel): void;
}

/** syslog severities (RFC 5424) of our levels, for logger(1) --prio-prefix. */
const SEVERITY: Record<LogLevel, number> = { error: 3, warn: 4, info: 6, debug: 7 };
const FACILITY_DAEMON = 3;

/** One log line: plain for a terminal; with a `<PRI>` prefix when it goes to syslog through logger(1). */
export function formatLine(level: LogLevel, msg: string, syslog: boolean, pid = process.pid): string {
  const line = `braidfs[${pid}] ${level}: ${msg}\n`;
  return syslog ? `<${FACILITY_DAEMON * 8 + SEVERITY[level]}>${line}` : line;
}

/**
 * Writes a line to stderr at once (not queued on the event loop): a daemon's
 * last words before it exits must not be lost, and lines keep their order
 * with what the kernel sees. A full pipe falls back to the queued write.
 */
function writeStderr(line: string): void {
  try {
    writeSync(2, line);
  } catch {
    process.stderr.write(line);
  }
}

export function createLogger(level: LogLevel, write: (line: string) => void = writeStderr, syslog = false): Logger {
  const seen = new Set<string>();
  const emit = (lvl: LogLevel, msg: string): void => {
    if (rank[lvl] <= rank[level]) write(formatLine(lvl, msg, syslog));
  };
  return {
    get level() {
      return level;
    },
    setLevel: (l) => void (level = l),
    error: (m) => emit('error', m),
    warn: (m) => emit('warn', m),
    info: (m) => emit('info', m),
    debug: (m) => emit('debug', m),
    once: (key, lvl, m) => {
      if (seen.has(key)) return;
      seen.add(key);
      emit(lvl, m);
    },
  };
}
