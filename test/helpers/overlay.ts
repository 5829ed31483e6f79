// Overlay-mode mount helpers: the same layer stack mounted by braidfs (with
// fuse-overlayfs's command line), by fuse-overlayfs itself, or by the
// kernel's overlayfs, so tests can compare them. Each program runs in its
// own process in the foreground; teardown always unmounts.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { ExecutionContext } from 'ava';
import { braidfsBin, forceUnmount, isMounted, makeTempDir } from './mount.js';

export type OverlayProgram = 'braidfs' | 'fuse-overlayfs' | 'kernel';

export interface OverlayLayout {
  /** Lower layers, top first. */
  lowers: string[];
  /** Absent: a read-only mount. */
  upper?: string;
  work?: string;
}

export interface OverlayMountOptions {
  program?: OverlayProgram;
  /** Extra -o words (e.g. 'volatile', 'squash_to_root'). */
  options?: string[];
  debug?: boolean;
  timeoutMs?: number;
  env?: Record<string, string>;
}

export interface OverlayMounted {
  readonly program: OverlayProgram;
  readonly mountpoint: string;
  readonly layout: OverlayLayout;
  readonly child: ChildProcess | undefined;
  /** What the daemon wrote to stderr so far. */
  log(): string;
  path(...p: string[]): string;
  unmount(): Promise<void>;
}

/** A fresh layer stack: `n` empty lower dirs, plus upper and work unless readOnly. */
export function makeLayers(n: number, opts: { readOnly?: boolean; base?: string } = {}): OverlayLayout & { base: string } {
  const base = opts.base ?? makeTempDir('braidfs-ovl-');
  const lowers = Array.from({ length: n }, (_, i) => join(base, `lower${i + 1}`));
  for (const l of lowers) mkdirSync(l, { recursive: true });
  if (opts.readOnly) return { base, lowers };
  const upper = join(base, 'upper');
  const work = join(base, 'work');
  mkdirSync(upper, { recursive: true });
  mkdirSync(work, { recursive: true });
  return { base, lowers, upper, work };
}

const escapeColons = (p: string): string => p.replace(/:/g, '\\:');

/** The -o list fuse-overlayfs and braidfs take for this layout. */
export function overlayOptionList(layout: OverlayLayout, extra: readonly string[] = []): string[] {
  const o = [`lowerdir=${layout.lowers.map(escapeColons).join(':')}`];
  if (layout.upper !== undefined) o.push(`upperdir=${layout.upper}`, `workdir=${layout.work ?? ''}`);
  return [...o, ...extra];
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Mounts the layout with `program`; the caller unmounts (see withOverlay). */
export async function mountOverlay(layout: OverlayLayout, opts: OverlayMountOptions = {}): Promise<OverlayMounted> {
  const program = opts.program ?? 'braidfs';
  const mountpoint = makeTempDir('braidfs-ovlmnt-');
  const optList = overlayOptionList(layout, opts.options);
  let child: ChildProcess | undefined;
  let stderr = '';
  if (program === 'kernel') {
    const r = spawnSync('mount', ['-t', 'overlay', 'overlay', '-o', optList.join(','), mountpoint], { encoding: 'utf8' });
    if (r.status !== 0) {
      rmSync(mountpoint, { recursive: true, force: true });
      throw new Error(`kernel overlay mount failed: ${r.stderr}`);
    }
  } else {
    const bin = program === 'braidfs' ? braidfsBin : 'fuse-overlayfs';
    const args = ['-f', ...(opts.debug ? ['-d'] : []), '-o', optList.join(','), mountpoint];
    child = spawn(bin, args, { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...opts.env } });
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (d: string) => (stderr += d));
    const deadline = Date.now() + (opts.timeoutMs ?? 15000);
    while (!isMounted(mountpoint)) {
      if (child.exitCode !== null || child.signalCode !== null) {
        rmSync(mountpoint, { recursive: true, force: true });
        throw new Error(`${program} exited before mounting (code ${child.exitCode}):\n${stderr}`);
      }
      if (Date.now() > deadline) {
        await forceUnmount(mountpoint, child);
        throw new Error(`${program} did not mount in time:\n${stderr}`);
      }
      await sleep(20);
    }
  }
  let done = false;
  return {
    program,
    mountpoint,
    layout,
    child,
    log: () => stderr,
    path: (...p) => join(mountpoint, ...p),
    unmount: async () => {
      if (done) return;
      done = true;
      if (program === 'kernel') {
        spawnSync('umount', [mountpoint], { stdio: 'ignore' });
        if (isMounted(mountpoint)) spawnSync('umount', ['-l', mountpoint], { stdio: 'ignore' });
      } else await forceUnmount(mountpoint, child);
      rmSync(mountpoint, { recursive: true, force: true });
    },
  };
}

/** Mounts for one test; teardown unmounts even when the test fails. */
export async function withOverlay(t: ExecutionContext, layout: OverlayLayout, opts: OverlayMountOptions = {}): Promise<OverlayMounted> {
  const m = await mountOverlay(layout, opts);
  t.teardown(() => m.unmount());
  return m;
}

/** Whether a peer can be compared against here (installed, and for the kernel: a test mount works). */
export function peerAvailable(program: Exclude<OverlayProgram, 'braidfs'>): boolean {
  if (program === 'fuse-overlayfs') return spawnSync('fuse-overlayfs', ['--version'], { stdio: 'ignore' }).status === 0;
  const l = makeLayers(1);
  const mp = makeTempDir('braidfs-ovlprobe-');
  const r = spawnSync('mount', ['-t', 'overlay', 'overlay', '-o', overlayOptionList(l).join(','), mp], { stdio: 'ignore' });
  if (r.status === 0) spawnSync('umount', [mp], { stdio: 'ignore' });
  rmSync(mp, { recursive: true, force: true });
  rmSync(l.base, { recursive: true, force: true });
  return r.status === 0;
}
