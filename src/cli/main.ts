// braidfs [-f] [-d] [-o OPTS] SOURCE MOUNTPOINT
//
// Without -f the command re-runs itself in the background and returns only
// once the mount is live (exit 0) or has failed (exit 1, one line on stderr).
// The child reports over an inherited pipe (fd 3, BRAIDFS_READY_FD).
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, readFileSync, writeSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { OptionError, applyOption, findOption, helpText } from '../config/options.js';
import { FUSE_KERNEL_MINOR_VERSION, FUSE_KERNEL_VERSION } from '../fuse/abi.js';
import { createLogger } from '../sys/log.js';
import { parseArgs, type Command } from './args.js';
import { isOverlayCommandLine, parseOverlayArgs } from '../config/overlay-args.js';
import { overlayConfig } from './overlay-config.js';
import { serve } from './serve.js';
import { runCtl } from './ctl.js';

const here = dirname(fileURLToPath(import.meta.url));

function version(): string {
  const pkg = JSON.parse(readFileSync(join(here, '..', '..', '..', 'package.json'), 'utf8')) as { version: string };
  return pkg.version;
}

const USAGE = `usage: braidfs [-f] [-d] [-o OPTIONS] BRANCHES MOUNTPOINT
       braidfs [-o OPTIONS] BRANCH1 BRANCH2 ... MOUNTPOINT
       braidfs ctl MOUNTPOINT list|get NAME|set NAME VALUE|where PATH

Pools the BRANCHES (PATH[=RW|RO|NC[,MINFREESPACE]] items separated by ':',
globs allowed) into one tree at MOUNTPOINT through FUSE. One directory is a
pool of one. Options take mergerfs's names and meanings.

  -f            stay in the foreground
  -d            trace every request and reply (implies -f)
  -o OPTIONS    comma-separated options, below
  -h, --help    this text
  -V, --version print the version and the FUSE protocol spoken

options:
`;

function fail(msg: string, readyFd: number | undefined): never {
  process.stderr.write(`braidfs: ${msg}\n`);
  if (readyFd !== undefined) {
    try {
      writeSync(readyFd, `error ${msg}\n`);
    } catch {
      // the parent is gone; nothing more to tell
    }
  }
  process.exit(1);
}

/**
 * The daemon's log destination once detached: the system log through
 * logger(1) (journald picks it up), or nowhere. Never a pipe to this
 * short-lived parent, which would break (EPIPE) as soon as it exits.
 */
function syslogSink(): ChildProcess | undefined {
  if (!existsSync('/usr/bin/logger')) return undefined;
  // --prio-prefix: each line carries its own syslog priority (<PRI>), so levels survive.
  const logger = spawn('/usr/bin/logger', ['-t', 'braidfs', '--prio-prefix'], { detached: true, stdio: ['pipe', 'ignore', 'ignore'] });
  logger.on('error', () => undefined);
  return logger;
}

function background(argv: readonly string[]): void {
  // Said here too, so it is said even where the daemon cannot be started at all.
  if (!existsSync('/dev/fuse')) fail('/dev/fuse is missing: load the fuse module (modprobe fuse), or give the container the device (--device /dev/fuse)', undefined);
  const logger = syslogSink();
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), '-f', ...argv], {
    detached: true,
    stdio: ['ignore', 'ignore', logger?.stdin ?? 'ignore', 'pipe'],
    env: { ...process.env, BRAIDFS_READY_FD: '3', ...(logger ? { BRAIDFS_SYSLOG: '1' } : {}) },
  });
  // Only the daemon holds the logger's input now; logger exits with it.
  logger?.stdin?.destroy();
  logger?.unref();
  // A daemon that cannot even be started (no /dev/null, no node binary): one line, not a stack trace.
  child.on('error', (e) => fail(`cannot start the daemon: ${e.message}`, undefined));
  let said = '';
  const ready = child.stdio[3] as NodeJS.ReadableStream;
  ready.on('data', (d: Buffer) => {
    said += d.toString('utf8');
    if (said.startsWith('ok')) {
      child.unref();
      process.exit(0);
    }
  });
  child.on('exit', (code, signal) => {
    const line = /^error (.*)$/m.exec(said)?.[1] ?? `the daemon exited before the mount was live (${code ?? signal}); see the system log`;
    process.stderr.write(`braidfs: ${line}\n`);
    process.exit(code && code !== 0 ? code : 1);
  });
}

/**
 * fuse-overlayfs's command line (a `lowerdir=` option): overlay mode.
 * Unknown options are warned about and ignored, as fuse-overlayfs does, so
 * podman's additions never fail a mount.
 */
function overlayCommand(argv: readonly string[]): Command {
  const o = parseOverlayArgs(argv);
  if (o.kind !== 'mount') return o;
  const config = overlayConfig(o);
  // braidfs's own options (passthrough.io=, cache.*, syscalls=, ...) work here too; anything else only warns.
  const applied = new Set<string>();
  for (const opt of o.unknownOptions) {
    const name = opt.split('=', 1)[0] ?? '';
    if (findOption(name) === undefined || name === 'branches' || name === 'mountpoint') continue;
    applyOption(config, opt);
    applied.add(`unknown argument ignored: ${opt}`);
  }
  for (const w of o.warnings) if (!applied.has(w)) process.stderr.write(`braidfs: ${w}\n`);
  return { kind: 'mount', source: config.branches.map((b) => b.path).join(':'), mountpoint: o.mountpoint, foreground: o.foreground, config };
}

function main(argv: readonly string[]): void {
  const readyFd = process.env.BRAIDFS_READY_FD ? Number(process.env.BRAIDFS_READY_FD) : undefined;
  delete process.env.BRAIDFS_READY_FD;
  let cmd: Command;
  try {
    cmd = isOverlayCommandLine(argv) ? overlayCommand(argv) : parseArgs(argv);
  } catch (e) {
    if (e instanceof OptionError) fail(e.message, readyFd);
    throw e;
  }
  if (cmd.kind === 'help') {
    process.stdout.write(USAGE + helpText() + '\n');
    return;
  }
  if (cmd.kind === 'version') {
    process.stdout.write(`braidfs ${version()}\nFUSE protocol ${FUSE_KERNEL_VERSION}.${FUSE_KERNEL_MINOR_VERSION}\n`);
    return;
  }
  if (!cmd.foreground) return background(argv);
  const syslog = process.env.BRAIDFS_SYSLOG === '1';
  delete process.env.BRAIDFS_SYSLOG;
  const log = createLogger(cmd.config.debug ? 'debug' : cmd.config.logLevel, undefined, syslog);
  // A daemon never dies of its own logging, nor of a stray rejection: log
  // it, keep serving. (Request handlers are already guarded by dispatch.)
  process.stderr.on('error', () => undefined);
  process.on('uncaughtException', (e) => log.error(`uncaught: ${e.stack ?? e.message}`));
  process.on('unhandledRejection', (e) => log.error(`unhandled rejection: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`));
  serve(cmd.config, log, () => {
    if (readyFd !== undefined) {
      writeSync(readyFd, 'ok\n');
      closeSync(readyFd);
    }
  }).then(
    (served) => served.done.then((code) => process.exit(code)),
    (e: unknown) => fail(e instanceof Error ? e.message : String(e), readyFd),
  );
}

const argv = process.argv.slice(2);
if (argv[0] === 'ctl') {
  void runCtl(argv.slice(1)).then((code) => process.exit(code));
} else {
  main(argv);
}
