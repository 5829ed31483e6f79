// A small leveled logger. Foreground: stderr. Background: syslog via
// logger(1) would fork per line, so the daemon writes to stderr and the CLI
// redirects that to the system log when it detaches (see cli/daemonize.ts).
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
}

export function createLogger(level: LogLevel, write: (line: string) => void = (l) => process.stderr.write(l)): Logger {
  const seen = new Set<string>();
  const emit = (lvl: LogLevel, msg: string): void => {
    if (rank[lvl] <= rank[level]) write(`braidfs[${process.pid}] ${lvl}: ${msg}\n`);
  };
  return {
    level,
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
