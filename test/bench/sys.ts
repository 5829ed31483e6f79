// Small system helpers for the benchmark: timed child processes, fio, cache
// dropping, the scratch ext4, RSS of a daemon, and a recursive delete that refuses to descend
// into a live mount. Every measured command runs in its own process; the
// benchmark process itself never touches a mount while a sample is timed.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';

export const KiB = 1024;
export const MiB = 1024 * KiB;
export const GiB = 1024 * MiB;

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Default time limit of one command (a hung mount must not hang the run). */
export const COMMAND_TIMEOUT_MS = 10 * 60 * 1000;

export class CommandError extends Error {
  constructor(
    readonly cmd: string,
    readonly detail: string,
  ) {
    super(`${cmd}: ${detail}`);
  }
}

export interface RunOptions {
  timeoutMs?: number;
  /** Keep stdout (else it goes to /dev/null). */
  stdout?: boolean;
  cwd?: string;
}

/** Runs a command to completion; throws with its stderr when it fails. Returns stdout ('' unless asked). */
export function run(cmd: string, args: readonly string[], opts: RunOptions = {}): string {
  const r = spawnSync(cmd, args, {
    stdio: ['ignore', opts.stdout ? 'pipe' : 'ignore', 'pipe'],
    encoding: 'utf8',
    maxBuffer: 256 * MiB,
    timeout: opts.timeoutMs ?? COMMAND_TIMEOUT_MS,
    killSignal: 'SIGKILL',
    ...(opts.cwd !== undefined ? { cwd: opts.cwd } : {}),
  });
  const line = [cmd, ...args].join(' ');
  if (r.error) throw new CommandError(line, r.error.message);
  if (r.signal) throw new CommandError(line, `killed by ${r.signal}${r.signal === 'SIGKILL' ? ' (time limit?)' : ''}: ${tail(r.stderr)}`);
  if (r.status !== 0) throw new CommandError(line, `exit ${r.status}: ${tail(r.stderr)}`);
  return r.stdout ?? '';
}

/** Wall-clock seconds of one command (process start included: ~2-5 ms here). */
export function timed(cmd: string, args: readonly string[], opts: RunOptions = {}): number {
  const t0 = performance.now();
  run(cmd, args, opts);
  return (performance.now() - t0) / 1000;
}

/** The same, without blocking the event loop (so a sampler can run meanwhile). */
export function timedAsync(cmd: string, args: readonly string[], timeoutMs = COMMAND_TIMEOUT_MS): Promise<number> {
  return new Promise((resolvePromise, reject) => {
    const t0 = performance.now();
    const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d: string) => {
      if (stderr.length < 65536) stderr += d;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new CommandError(cmd, e.message));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const seconds = (performance.now() - t0) / 1000;
      if (code === 0) resolvePromise(seconds);
      else reject(new CommandError([cmd, ...args].join(' '), `${signal ? `killed by ${signal}` : `exit ${code}`}: ${tail(stderr)}`));
    });
  });
}

export function tail(s: string | null | undefined, n = 2000): string {
  if (!s) return '';
  return s.length > n ? `…${s.slice(-n)}` : s;
}

let dropWarned = false;

/**
 * sync, then drop the page cache (3), or dentries and inodes (2): for a FUSE
 * mount, 2 makes the kernel send FORGET for every inode it dropped.
 */
export function dropCaches(level: 1 | 2 | 3 = 3): void {
  spawnSync('sync');
  try {
    writeFileSync('/proc/sys/vm/drop_caches', String(level));
  } catch (e) {
    if (!dropWarned) {
      dropWarned = true;
      console.error(`warning: cannot drop caches (${(e as Error).message}); run as root for cold-cache numbers`);
    }
  }
}

/**
 * Between two timed phases: flush dirty data, then wait out the kernel's
 * entry and attribute caches of the FUSE mounts (cache.entry = cache.attr =
 * 1 s on every target), so each phase starts with the same warm page and
 * dentry caches on the branches and expired caches on the mounts.
 */
export async function settle(ms = 1200): Promise<void> {
  spawnSync('sync');
  await sleep(ms);
}

export interface FioJob {
  read: FioDir;
  write: FioDir;
  job_runtime: number;
}
interface FioDir {
  bw_bytes: number;
  iops: number;
  runtime: number;
  io_bytes: number;
  clat_ns: { mean: number };
}

/** Runs fio with --output-format=json and returns the first (group-reported) job. */
export function fio(args: readonly string[], timeoutMs = COMMAND_TIMEOUT_MS): FioJob {
  const out = run('fio', [...args, '--output-format=json'], { stdout: true, timeoutMs });
  const start = out.indexOf('{');
  if (start < 0) throw new CommandError('fio', `no JSON in output: ${tail(out)}`);
  const parsed = JSON.parse(out.slice(start)) as { jobs?: FioJob[] };
  const job = parsed.jobs?.[0];
  if (!job) throw new CommandError('fio', 'no job in JSON output');
  const errorCode = (job as unknown as { error?: number }).error;
  if (errorCode) throw new CommandError('fio', `job error ${errorCode}`);
  return job;
}

/** Writes `bytes` of fio's (non-zero, incompressible) data to `file`, fsynced. */
export function makeDataFile(file: string, bytes: number): void {
  fio(['--name=prep', `--filename=${file}`, '--rw=write', '--bs=1M', `--size=${bytes}`, '--end_fsync=1', '--ioengine=psync', '--fallocate=none']);
}

/** A field of /proc/PID/status in KiB (VmRSS, VmHWM), or undefined when the process is gone. */
export function procStatusKiB(pid: number, field: 'VmRSS' | 'VmHWM'): number | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/status`, 'utf8');
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(s);
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** Mountpoints at or below `dir`. */
export function mountsUnder(dir: string): string[] {
  const root = resolve(dir);
  const out: string[] = [];
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const mp = line.split(' ')[4]?.replace(/\\040/g, ' ');
    if (mp !== undefined && (mp === root || mp.startsWith(`${root}/`))) out.push(mp);
  }
  return out;
}

/** rm -rf that refuses when something is still mounted below `dir` (it would delete through the mount). */
export function safeRemove(dir: string): boolean {
  const live = mountsUnder(dir);
  if (live.length > 0) {
    console.error(`not removing ${dir}: still mounted below it: ${live.join(', ')}`);
    return false;
  }
  rmSync(dir, { recursive: true, force: true });
  return true;
}

/**
 * Whether a mount answers: stat of `dir` from a child process, killed after
 * `timeoutMs`. (The benchmark process itself makes no syscall on a mount
 * that could block it forever: everything that touches a mount runs in a
 * child with a time limit.)
 */
export function responsive(dir: string, timeoutMs = 10_000): boolean {
  const r = spawnSync('stat', ['-c', '%i', dir], { stdio: 'ignore', timeout: timeoutMs, killSignal: 'SIGKILL' });
  return r.status === 0;
}

/** Size of a file, by a child process (`stat -c %s`). */
export function sizeOf(path: string): number {
  return Number(run('stat', ['-c', '%s', path], { stdout: true, timeoutMs: 60_000 }).trim());
}

/** Whether a path exists, by a child process. */
export function existsByChild(path: string): boolean {
  const r = spawnSync('test', ['-e', path], { stdio: 'ignore', timeout: 60_000, killSignal: 'SIGKILL' });
  if (r.error || r.signal) throw new CommandError(`test -e ${path}`, r.error?.message ?? `killed by ${r.signal}`);
  return r.status === 0;
}

/** The first line of a command's output (the first that matches `pattern`, if given), or undefined. */
export function firstLine(cmd: string, args: readonly string[], pattern?: RegExp): string | undefined {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.error || r.status !== 0) return undefined;
  const lines = `${r.stdout}${r.stderr}`.split('\n').map((l) => l.trim());
  return pattern ? lines.find((l) => pattern.test(l)) : lines[0];
}

/** A fresh ext4 on a loop device whose image lives in memory, mounted at `dir`. */
export interface ScratchFs {
  dir: string;
  /** Unmounts it, detaches the loop device and deletes the image. Safe to call twice. */
  remove(): void;
}

/**
 * Every target's branches then sit on the same fresh, private ext4, the way
 * the issue measured the peers. The image is a sparse file on /dev/shm, so
 * the host disk (shared, and slow to create files on some days) is not what
 * is measured, and `discard` gives deleted blocks back to memory.
 */
export function makeScratchExt4(dir: string, sizeGiB: number): ScratchFs {
  const image = join('/dev/shm', `${basename(dir)}.img`);
  run('truncate', ['-s', `${sizeGiB}G`, image]);
  let device = '';
  let mounted = false;
  const remove = (): void => {
    if (mounted) spawnSync('umount', [dir]);
    mounted = false;
    if (device) spawnSync('losetup', ['-d', device]);
    device = '';
    rmSync(image, { force: true });
  };
  try {
    // lazy_itable_init=0: no background inode-table zeroing competing with the workloads.
    run('mkfs.ext4', ['-q', '-F', '-E', 'lazy_itable_init=0,lazy_journal_init=0', image]);
    device = run('losetup', ['--find', '--show', image], { stdout: true }).trim();
    mkdirSync(dir, { recursive: true });
    run('mount', ['-o', 'discard', device, dir]);
    mounted = true;
  } catch (e) {
    remove();
    throw e;
  }
  if (!device.startsWith('/dev/')) {
    remove();
    throw new Error(`losetup gave no device for ${image}`);
  }
  return { dir, remove };
}
