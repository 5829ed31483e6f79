// Mount helpers for tests. The daemon always runs in its own process
// (spawned CLI, `-f`), and the test process drives the mount with ordinary
// syscalls, so nothing here can deadlock against the daemon.
//
// Teardown always unmounts, even when the test failed: fusermount3 -u, then
// umount -l, then SIGKILL of the daemon. A stale mount breaks every later run.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, rmdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ExecutionContext } from 'ava';
import { mountsUnder } from './procs.js';

export const repoRoot = resolve(fileURLToPath(import.meta.url), '..', '..', '..', '..');
export const braidfsBin = join(repoRoot, 'bin', 'braidfs');

export interface MountOptions {
  /** Values passed as `-o a,b,c`. */
  options?: string[];
  /** Add `-d` (request trace on stderr). */
  debug?: boolean;
  /** Prefix the daemon command, e.g. ['unshare', '-Urm'] is NOT usable here (the mount would live in another namespace); see test/integration for userns. */
  wrap?: string[];
  /** Existing source directory; a fresh temp dir otherwise. */
  source?: string;
  env?: Record<string, string>;
  /** How long to wait for the mount to appear (ms). */
  timeoutMs?: number;
}

export interface Mounted {
  readonly source: string;
  readonly mountpoint: string;
  readonly pid: number;
  readonly child: ChildProcess;
  /** Everything the daemon wrote to stderr so far. */
  log(): string;
  /** A path inside the mount. */
  path(...p: string[]): string;
  /** The same path on the source directory (behind the mount's back). */
  src(...p: string[]): string;
  unmount(): Promise<void>;
}

/**
 * A fresh directory under the temp dir, removed when the test process exits
 * (most tests never remove their branches themselves, and hundreds of runs
 * filled /tmp with them).
 */
export function makeTempDir(prefix = 'braidfs-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  if (madeDirs.length === 0) process.on('exit', removeMadeDirs);
  madeDirs.push(dir);
  return dir;
}

const madeDirs: string[] = [];

/**
 * Removes what makeTempDir made, except a directory with a mount at or below
 * it: a mount teardown failed to remove is reported by the next run's
 * stale-mount sweep, and a recursive delete must not walk into (or through)
 * a live or hung FUSE mount.
 */
function removeMadeDirs(): void {
  for (const dir of madeDirs.reverse()) {
    if (mountsUnder(dir).length > 0) continue;
    try {
      rmSync(dir, { recursive: true, force: true });
    } catch {
      // e.g. a file a test left immutable: leave the rest, never fail the run
    }
  }
}

/** True when `dir` is a mountpoint of type fuse.braidfs (or any fuse when `anyFuse`). */
export function isMounted(dir: string, anyFuse = true): boolean {
  const target = resolve(dir);
  const lines = readFileSync('/proc/self/mountinfo', 'utf8').split('\n');
  for (const line of lines) {
    const parts = line.split(' ');
    const sep = parts.indexOf('-');
    if (sep < 0) continue;
    const mp = parts[4]?.replace(/\\040/g, ' ');
    const type = parts[sep + 1] ?? '';
    if (mp === target && (anyFuse ? type.startsWith('fuse') : type === 'fuse.braidfs')) return true;
  }
  return false;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Unmount by every means available; never throws. */
export async function forceUnmount(mountpoint: string, child?: ChildProcess): Promise<void> {
  if (isMounted(mountpoint)) spawnSync('fusermount3', ['-u', mountpoint], { stdio: 'ignore' });
  if (isMounted(mountpoint)) spawnSync('umount', [mountpoint], { stdio: 'ignore' });
  if (isMounted(mountpoint)) spawnSync('umount', ['-l', mountpoint], { stdio: 'ignore' });
  if (child && child.exitCode === null && child.signalCode === null) {
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    const done = await Promise.race([exited.then(() => true), sleep(3000).then(() => false)]);
    if (!done) {
      child.kill('SIGKILL');
      await Promise.race([exited, sleep(2000)]);
    }
  }
  if (isMounted(mountpoint)) spawnSync('umount', ['-l', mountpoint], { stdio: 'ignore' });
}

export async function mountBraidfs(opts: MountOptions = {}): Promise<Mounted> {
  const source = opts.source ?? makeTempDir('braidfs-src-');
  const mountpoint = makeTempDir('braidfs-mnt-');
  const args = ['-f'];
  if (opts.debug) args.push('-d');
  if (opts.options?.length) args.push('-o', opts.options.join(','));
  args.push(source, mountpoint);
  const cmd = [...(opts.wrap ?? []), braidfsBin, ...args];
  const child = spawn(cmd[0]!, cmd.slice(1), { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...opts.env } });
  let stderr = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (d: string) => (stderr += d));
  const deadline = Date.now() + (opts.timeoutMs ?? 15000);
  while (!isMounted(mountpoint)) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`braidfs exited before mounting (code ${child.exitCode}, signal ${child.signalCode}):\n${stderr}`);
    }
    if (Date.now() > deadline) {
      await forceUnmount(mountpoint, child);
      throw new Error(`braidfs did not mount within the timeout:\n${stderr}`);
    }
    await sleep(20);
  }
  let unmounted = false;
  return {
    source,
    mountpoint,
    pid: child.pid ?? -1,
    child,
    log: () => stderr,
    path: (...p) => join(mountpoint, ...p),
    src: (...p) => join(source, ...p),
    unmount: async () => {
      if (unmounted) return;
      unmounted = true;
      await forceUnmount(mountpoint, child);
      try {
        rmdirSync(mountpoint);
      } catch {
        // still busy or already gone: leave the empty directory behind
      }
    },
  };
}

/** Mounts for one test and registers teardown that unmounts even on failure. */
export async function withMount(t: ExecutionContext, opts: MountOptions = {}): Promise<Mounted> {
  const m = await mountBraidfs(opts);
  t.teardown(async () => {
    await m.unmount();
    if (!opts.source) rmSync(m.source, { recursive: true, force: true });
  });
  return m;
}
