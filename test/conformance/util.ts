// Shared helpers for the conformance cases: errno capture, stat
// normalisation, child processes (python3 snippets, util-linux tools).
//
// Everything a case returns must be JSON-serialisable and free of anything
// that legitimately differs between two directories on different
// filesystems: absolute paths, inode numbers, st_dev, ctime/atime that were
// not set explicitly, st_blocks (only relations on it), st_blksize.
import { spawn } from 'node:child_process';
import { existsSync, type BigIntStats, type PathLike, type Stats } from 'node:fs';
import * as fs from 'node:fs';

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

export interface ErrorResult {
  error: string;
}

function errnoCode(e: unknown): string | undefined {
  if (typeof e === 'object' && e !== null && 'code' in e) {
    const code = e.code;
    if (typeof code === 'string' && /^E[A-Z0-9]+$/.test(code)) return code;
  }
  return undefined;
}

/**
 * Runs fn; a thrown errno error becomes `{ error: 'ECODE' }`, `undefined`
 * becomes 'ok'. Anything else thrown (a bug in the case) propagates.
 */
/** What `attempt` yields on success: the value, or 'ok' for void functions. */
export type Attempted<T> = [T] extends [void] ? 'ok' : T;

export function attempt<T>(fn: () => T): Attempted<T> | ErrorResult {
  try {
    const r = fn();
    return (r === undefined ? 'ok' : r) as Attempted<T>;
  } catch (e) {
    const code = errnoCode(e);
    if (code === undefined) throw e;
    return { error: code };
  }
}

export async function attemptAsync<T>(fn: () => Promise<T>): Promise<Attempted<T> | ErrorResult> {
  try {
    const r = await fn();
    return (r === undefined ? 'ok' : r) as Attempted<T>;
  } catch (e) {
    const code = errnoCode(e);
    if (code === undefined) throw e;
    return { error: code };
  }
}

export function fileType(mode: number): string {
  switch (mode & 0o170000) {
    case 0o100000:
      return 'file';
    case 0o040000:
      return 'dir';
    case 0o120000:
      return 'symlink';
    case 0o010000:
      return 'fifo';
    case 0o020000:
      return 'chr';
    case 0o060000:
      return 'blk';
    case 0o140000:
      return 'sock';
    default:
      return `unknown(${mode.toString(8)})`;
  }
}

export const oct = (n: number): string => (n & 0o7777).toString(8).padStart(4, '0');

export function major(rdev: number): number {
  return Math.floor(rdev / 256) & 0xfff;
}
export function minor(rdev: number): number {
  return (rdev & 0xff) | (Math.floor(rdev / 4096) & 0xfff00);
}

export interface StatInfo {
  [k: string]: Json;
  type: string;
  mode: string;
  nlink: number;
  uid: number;
  gid: number;
}

/**
 * The comparable part of a stat. Directory st_size is filesystem-specific
 * (not POSIX-defined), so it is left out; so are blocks, blksize, ino, dev
 * and the timestamps.
 */
export function describeStat(st: Stats): StatInfo {
  const type = fileType(st.mode);
  const out: StatInfo = { type, mode: oct(st.mode), nlink: st.nlink, uid: st.uid, gid: st.gid };
  if (type !== 'dir') out['size'] = st.size;
  if (type === 'chr' || type === 'blk') out['rdev'] = [major(st.rdev), minor(st.rdev)];
  return out;
}

export function statOf(p: PathLike): StatInfo | ErrorResult {
  return attempt(() => describeStat(fs.statSync(p)));
}
export function lstatOf(p: PathLike): StatInfo | ErrorResult {
  return attempt(() => describeStat(fs.lstatSync(p)));
}
export function fstatOf(fd: number): StatInfo | ErrorResult {
  return attempt(() => describeStat(fs.fstatSync(fd)));
}

/** Nanosecond atime/mtime as decimal strings (only for explicitly set times). */
export function timesNs(p: PathLike, follow = true): { atime: string; mtime: string } | ErrorResult {
  return attempt(() => {
    const st: BigIntStats = follow ? fs.statSync(p, { bigint: true }) : fs.lstatSync(p, { bigint: true });
    return { atime: st.atimeNs.toString(), mtime: st.mtimeNs.toString() };
  });
}

export function ino(p: PathLike): bigint {
  return fs.lstatSync(p, { bigint: true }).ino;
}

export function readText(p: PathLike): string | ErrorResult {
  return attempt(() => fs.readFileSync(p, 'latin1'));
}

export function sortedDir(p: PathLike): string[] | ErrorResult {
  return attempt(() => fs.readdirSync(p).sort());
}

// ---------------------------------------------------------------------------
// Child processes

export interface RunResult {
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

export interface RunOptions {
  cwd?: string;
  input?: string;
  timeoutMs?: number;
  env?: Record<string, string>;
}

export function run(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      cwd: opts.cwd,
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, LC_ALL: 'C', TZ: 'UTC', ...opts.env },
    });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (d: string) => (stdout += d));
    child.stderr.on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, opts.timeoutMs ?? 60_000);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, timedOut });
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(opts.input ?? '');
  });
}

export const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

/**
 * Prelude for python snippets. A snippet assigns its result to R; the
 * prelude prints it as JSON. `attempt(f, *a)` maps OSError to
 * {'error': 'ECODE'} and None to 'ok'; `cres(r)` does the same for ctypes
 * return values (negative → errno).
 */
const PY_PRELUDE = `
import os, sys, json, errno, ctypes, fcntl, struct, mmap, subprocess, time, signal, hashlib
libc = ctypes.CDLL(None, use_errno=True)
AT_FDCWD = -100
def ecode(n):
    return errno.errorcode.get(n, 'E%d' % n)
def attempt(f, *a, **k):
    try:
        r = f(*a, **k)
        return 'ok' if r is None else r
    except OSError as e:
        return {'error': ecode(e.errno)}
def cres(r):
    if r < 0:
        return {'error': ecode(ctypes.get_errno())}
    return r
def bpath(p):
    return p if isinstance(p, bytes) else os.fsencode(p)
libc.linkat.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
def flink(fd, target):
    # linkat(AT_FDCWD, "/proc/self/fd/N", AT_FDCWD, target, AT_SYMLINK_FOLLOW):
    # os.link() would use link(2), which does not follow the /proc magic link.
    return cres(libc.linkat(AT_FDCWD, b'/proc/self/fd/%d' % fd, AT_FDCWD, bpath(target), 0x400))
class _Timeout(Exception):
    pass
def _alarm(s, f):
    raise _Timeout()
def blocking(sec, f, *a, **k):
    # attempt() with a deadline for calls that may block (lock waits)
    old = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, sec)
    try:
        return attempt(f, *a, **k)
    except _Timeout:
        return 'timeout'
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
R = None
`;

/** Runs a python3 snippet with cwd=root and returns its R (parsed JSON). */
export async function py(cwd: string, code: string, args: readonly string[] = [], timeoutMs = 30_000): Promise<Json> {
  const script = `${PY_PRELUDE}\n${code}\nprint(json.dumps(R))\n`;
  const r = await run(PYTHON, ['-c', script, ...args], { cwd, timeoutMs });
  if (r.timedOut) throw new Error(`python snippet timed out after ${timeoutMs} ms\nstderr: ${r.stderr}`);
  if (r.code !== 0) throw new Error(`python snippet failed (code ${r.code}, signal ${r.signal}):\n${r.stderr}`);
  const lines = r.stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1] ?? 'null') as Json;
}

/** Dedent a template literal so python snippets can be indented in TS. */
export function dedent(s: string): string {
  const lines = s.replace(/^\n/, '').split('\n');
  const indents = lines.filter((l) => l.trim() !== '').map((l) => /^ */.exec(l)?.[0].length ?? 0);
  const n = Math.min(...indents);
  return lines.map((l) => l.slice(n)).join('\n');
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
