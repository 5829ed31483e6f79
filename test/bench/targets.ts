// What the workloads run against, and how each is mounted.
//
// Pool targets: a plain directory (the baseline), braidfs with passthrough
// (the default), braidfs without it, and Debian's mergerfs 2.33, the last two
// with the same page-cache mode (cache.files=partial). Overlay targets: plain
// `cp` (the baseline), braidfs in overlay mode and fuse-overlayfs 1.10.
//
// Every daemon runs in the foreground as a child process (-f), so its PID is
// the process whose memory is sampled. Every live mount is recorded, so a
// failure or SIGINT anywhere can unmount them all (unmountAll).
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, cpSync, existsSync, mkdirSync, openSync, readSync, rmdirSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { braidfsBin, forceUnmount, isMounted, repoRoot } from '../helpers/mount.js';
import { procStatusKiB, responsive, sleep, tail } from './sys.js';

export type Program = 'plain' | 'braidfs' | 'mergerfs' | 'fuse-overlayfs';

export interface Target {
  readonly id: string;
  /** Column header. */
  readonly label: string;
  readonly program: Program;
  /** -o words. */
  readonly options: readonly string[];
}

/** Options every pool daemon gets: all creates on the first branch, no 4 GiB free-space floor. */
const POOL_COMMON = ['minfreespace=1M', 'category.create=ff'];

export const POOL_TARGETS: readonly Target[] = [
  { id: 'plain', label: 'plain dir', program: 'plain', options: [] },
  { id: 'braidfs', label: 'braidfs', program: 'braidfs', options: [...POOL_COMMON] },
  { id: 'braidfs-nopt', label: 'braidfs no-pt', program: 'braidfs', options: [...POOL_COMMON, 'passthrough.io=off', 'cache.files=partial'] },
  { id: 'mergerfs', label: 'mergerfs 2.33', program: 'mergerfs', options: [...POOL_COMMON, 'cache.files=partial'] },
];

export const OVERLAY_TARGETS: readonly Target[] = [
  { id: 'plain-cp', label: 'plain cp', program: 'plain', options: [] },
  { id: 'braidfs-overlay', label: 'braidfs overlay', program: 'braidfs', options: [] },
  { id: 'fuse-overlayfs', label: 'fuse-overlayfs 1.10', program: 'fuse-overlayfs', options: [] },
];

export const ALL_TARGETS: readonly Target[] = [...POOL_TARGETS, ...OVERLAY_TARGETS];

export interface Mount {
  readonly target: Target;
  /** Where the workload works: the mountpoint, or the plain directory. */
  readonly dir: string;
  /** The daemon's PID (undefined for a plain directory). */
  readonly pid: number | undefined;
  /** The daemon's stdout and stderr so far (last 256 KiB). */
  log(): string;
  /** False once the daemon has exited. */
  alive(): boolean;
  /** VmRSS of the daemon in KiB. */
  rssKiB(): number | undefined;
  unmount(): Promise<void>;
}

const live = new Set<Mount>();
let closed = false;

/** Unmounts everything still mounted (on error or SIGINT); never throws. */
export async function unmountAll(): Promise<void> {
  for (const m of [...live]) {
    try {
      await m.unmount();
    } catch {
      // forceUnmount does not throw; rmdir of the mountpoint may
    }
  }
}

/** From now on no new mount is made (one being made is taken down again); then unmountAll. */
export async function shutdown(): Promise<void> {
  closed = true;
  await unmountAll();
}

/** Where daemons write their stderr (a file, never a pipe: a daemon must not block on a full pipe while the benchmark sits in a long spawnSync). */
let logDir = tmpdir();

export function setLogDir(dir: string): void {
  mkdirSync(dir, { recursive: true });
  logDir = dir;
}

let braidfsPath = braidfsBin;

export function braidfsCommand(): string {
  return braidfsPath;
}

/**
 * Copies the built braidfs (bin/, dist/src, dist/policies, the native addon,
 * package.json; node_modules linked) to `dir` and mounts from there, so a
 * rebuild of dist/ by someone else during a long run cannot mix versions.
 */
export function snapshotBraidfs(dir: string): string {
  mkdirSync(dir, { recursive: true });
  cpSync(join(repoRoot, 'bin'), join(dir, 'bin'), { recursive: true });
  cpSync(join(repoRoot, 'dist', 'src'), join(dir, 'dist', 'src'), { recursive: true });
  cpSync(join(repoRoot, 'dist', 'policies'), join(dir, 'dist', 'policies'), { recursive: true });
  cpSync(join(repoRoot, 'build', 'Release', 'braidfs_native.node'), join(dir, 'build', 'Release', 'braidfs_native.node'));
  cpSync(join(repoRoot, 'package.json'), join(dir, 'package.json'));
  symlinkSync(join(repoRoot, 'node_modules'), join(dir, 'node_modules'));
  braidfsPath = join(dir, 'bin', 'braidfs');
  return braidfsPath;
}

export function plainMount(target: Target, dir: string): Mount {
  mkdirSync(dir, { recursive: true });
  return { target, dir, pid: undefined, log: () => '', alive: () => true, rssKiB: () => undefined, unmount: async () => undefined };
}

const LOG_CAP = 256 * 1024;
let logSeq = 0;

function readTail(file: string): string {
  try {
    const size = statSync(file).size;
    const fd = openSync(file, 'r');
    try {
      const len = Math.min(size, LOG_CAP);
      const buf = Buffer.alloc(len);
      readSync(fd, buf, 0, len, size - len);
      return buf.toString('utf8');
    } finally {
      closeSync(fd);
    }
  } catch {
    return '';
  }
}

/**
 * Spawns `bin args…` in the foreground, waits until `mountpoint` is a FUSE
 * mount, and checks that it answers (a stat from a child process within 15
 * s): a daemon that mounts but never answers INIT would otherwise block every
 * process that touches the mount.
 */
async function spawnDaemon(target: Target, bin: string, args: readonly string[], mountpoint: string, timeoutMs = 20_000): Promise<Mount> {
  if (closed) throw new Error('shutting down');
  mkdirSync(mountpoint, { recursive: true });
  const logFile = join(logDir, `${String(++logSeq).padStart(3, '0')}-${target.id}.log`);
  const fd = openSync(logFile, 'w');
  let child: ChildProcess;
  try {
    child = spawn(bin, args, { stdio: ['ignore', fd, fd] });
  } finally {
    closeSync(fd);
  }
  let spawnError: Error | undefined;
  child.on('error', (e) => (spawnError = e));
  const exited = (): boolean => child.exitCode !== null || child.signalCode !== null;
  const waitExit = async (ms: number): Promise<void> => {
    if (exited()) return;
    await Promise.race([new Promise<void>((r) => child.once('exit', () => r())), sleep(ms)]);
  };
  let done = false;
  const m: Mount = {
    target,
    dir: mountpoint,
    pid: child.pid,
    log: () => readTail(logFile),
    alive: () => !exited(),
    rssKiB: () => (child.pid === undefined ? undefined : procStatusKiB(child.pid, 'VmRSS')),
    unmount: async () => {
      if (done) return;
      done = true;
      // A daemon that no longer answers is killed first: that aborts the
      // connection, so the unmount cannot wait on it.
      if (!exited() && isMounted(mountpoint) && !responsive(mountpoint, 5000)) {
        console.error(`warning: ${target.label} at ${mountpoint} does not answer; killing it`);
        child.kill('SIGKILL');
        await waitExit(3000);
      }
      await forceUnmount(mountpoint, child);
      live.delete(m);
      if (isMounted(mountpoint)) {
        console.error(`warning: ${mountpoint} (${target.label}) is still mounted after every unmount attempt`);
        return;
      }
      try {
        rmdirSync(mountpoint);
      } catch {
        // not empty or gone: left for safeRemove of the work dir
      }
    },
  };
  live.add(m);
  const deadline = Date.now() + timeoutMs;
  const cmdline = [bin, ...args].join(' ');
  while (!isMounted(mountpoint)) {
    if (spawnError || exited()) {
      await m.unmount();
      throw new Error(`${target.label} exited before mounting (${spawnError?.message ?? `code ${child.exitCode}, signal ${child.signalCode}`}): ${cmdline}\n${tail(m.log())}`);
    }
    if (Date.now() > deadline || closed) {
      await m.unmount();
      throw new Error(closed ? 'shutting down' : `${target.label} did not mount within ${timeoutMs / 1000} s: ${cmdline}\n${tail(m.log())}`);
    }
    await sleep(20);
  }
  if (!responsive(mountpoint, 15_000)) {
    const log = m.log();
    await m.unmount();
    throw new Error(`${target.label} mounted but does not answer (stat of the mountpoint timed out after 15 s; never answered INIT?): ${cmdline}\n${tail(log)}`);
  }
  if (closed) {
    await m.unmount();
    throw new Error('shutting down');
  }
  return m;
}

/** The command line a pool target is mounted with (for the README and the JSON). */
export function poolCommand(target: Target, branches: readonly string[], mountpoint: string): { bin: string; args: string[] } {
  const o = ['-o', target.options.join(',')];
  switch (target.program) {
    case 'braidfs':
      return { bin: braidfsPath, args: ['-f', ...o, branches.join(':'), mountpoint] };
    case 'mergerfs':
      return { bin: '/usr/bin/mergerfs', args: ['-f', ...o, branches.join(':'), mountpoint] };
    case 'plain':
    case 'fuse-overlayfs':
      throw new Error(`${target.id} is not a pool program`);
  }
}

/** Mounts a pool target over `branches` (a plain target just uses `plainDir`). */
export async function mountPool(target: Target, branches: readonly string[], mountpoint: string, plainDir: string): Promise<Mount> {
  if (target.program === 'plain') return plainMount(target, plainDir);
  const { bin, args } = poolCommand(target, branches, mountpoint);
  return spawnDaemon(target, bin, args, mountpoint);
}

export interface OverlayLayers {
  lower: string;
  upper: string;
  work: string;
}

export function overlayCommand(target: Target, l: OverlayLayers, mountpoint: string): { bin: string; args: string[] } {
  const o = ['-o', [`lowerdir=${l.lower}`, `upperdir=${l.upper}`, `workdir=${l.work}`, ...target.options].join(',')];
  switch (target.program) {
    case 'braidfs':
      return { bin: braidfsPath, args: ['-f', ...o, mountpoint] };
    case 'fuse-overlayfs':
      return { bin: '/usr/bin/fuse-overlayfs', args: ['-f', ...o, mountpoint] };
    case 'plain':
    case 'mergerfs':
      throw new Error(`${target.id} is not an overlay program`);
  }
}

export async function mountOverlay(target: Target, layers: OverlayLayers, mountpoint: string): Promise<Mount> {
  for (const d of [layers.upper, layers.work]) mkdirSync(d, { recursive: true });
  const { bin, args } = overlayCommand(target, layers, mountpoint);
  return spawnDaemon(target, bin, args, mountpoint);
}

/** Which programs are installed here. */
export function available(program: Program): boolean {
  switch (program) {
    case 'plain':
      return true;
    case 'braidfs':
      return existsSync(braidfsPath) && existsSync(join(repoRoot, 'dist', 'src', 'cli', 'main.js'));
    case 'mergerfs':
      return existsSync('/usr/bin/mergerfs');
    case 'fuse-overlayfs':
      return existsSync('/usr/bin/fuse-overlayfs');
  }
}

/** The `nodes=N` of the last SIGUSR2 stats line braidfs wrote, if any. */
export function lastNodeCount(log: string): number | undefined {
  const all = [...log.matchAll(/stats: nodes=(\d+)/g)];
  const last = all[all.length - 1];
  return last ? Number(last[1]) : undefined;
}

/** Reads /proc/PID/status VmHWM (peak RSS since start) in KiB. */
export function hwmKiB(m: Mount): number | undefined {
  return m.pid === undefined ? undefined : procStatusKiB(m.pid, 'VmHWM');
}
