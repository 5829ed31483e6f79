// Shared set-up for the pool tests (not a test file itself): branches on
// small tmpfs mounts of known size, pre-filled so every branch's free and used
// space is known exactly; braidfs or Debian's mergerfs mounted over them; and
// small probes (which branch holds a path, what errno a call gave).
//
// Teardown order matters: the union mount must go before the tmpfs mounts
// under it. AVA runs teardowns last-in-first-out, and makeBranches registers
// its teardown before any union is mounted, so the union goes first; the
// tmpfs teardown also unmounts every union recorded in the fixture first, in
// case a test registered things in another order.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readlinkSync, rmSync, rmdirSync, statfsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ExecutionContext } from 'ava';
import { forceUnmount, isMounted, makeTempDir, withMount, type Mounted } from '../../helpers/mount.js';

export const MiB = 1024 * 1024;

/** The filler file each pre-filled branch holds (it shows up in the union, so listings filter it). */
export const FILL = '.fill';

export type BranchMode = 'RW' | 'RO' | 'NC';

export interface BranchDef {
  /** Short name used in assertions ('a', 'ro', …). */
  readonly name: string;
  /** tmpfs size in MiB. */
  readonly size: number;
  /** MiB written to FILL before mounting (default 0: no filler). */
  readonly fill?: number;
  /** Mode in the branch list; default RW (written out as `=RW` when minfree is given). */
  readonly mode?: BranchMode;
  /** Per-branch minfreespace as mergerfs spells it ('1M', '1G'); omitted: the global value applies. */
  readonly minfree?: string;
}

export interface Fixture {
  readonly root: string;
  readonly defs: readonly BranchDef[];
  /** The directory of a branch by name. */
  dir(name: string): string;
  /** A path on a branch (behind the union's back). */
  at(name: string, ...rel: string[]): string;
  /** The branch list as braidfs and mergerfs take it: `PATH[=MODE[,MINFREE]]:…` (all branches, or only those named). */
  spec(only?: readonly string[]): string;
  /** Names of the branches (in list order) where `rel` exists (lstat). */
  where(rel: string): string[];
  /** Bytes available to unprivileged users on a branch (f_bavail * f_bsize). */
  avail(name: string): number;
  /** Records a union mounted over these branches; the tmpfs teardown unmounts it first. */
  track(unmount: () => Promise<void>): void;
}

function sh(cmd: string, args: readonly string[]): void {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status ?? r.signal}): ${r.stderr}`);
}

/**
 * One tmpfs per branch (size and filler from `defs`), torn down after the
 * test even when it fails. `populate` may create files on the branches
 * before anything is mounted over them.
 */
export function makeBranches(t: ExecutionContext, defs: readonly BranchDef[], populate?: (fx: Fixture) => void): Fixture {
  const root = mkdtempSync(join(tmpdir(), 'braidfs-pool-'));
  const mounted: string[] = [];
  const unions: Array<() => Promise<void>> = [];
  t.teardown(async () => {
    for (const u of unions.reverse()) await u();
    for (const d of mounted.reverse()) spawnSync('umount', ['-l', d], { stdio: 'ignore' });
    rmSync(root, { recursive: true, force: true });
  });
  const dirs = new Map<string, string>();
  for (const d of defs) {
    const dir = join(root, d.name);
    mkdirSync(dir);
    sh('mount', ['-t', 'tmpfs', '-o', `size=${d.size}m,mode=0755`, `braidfs-pool-${d.name}`, dir]);
    mounted.push(dir);
    dirs.set(d.name, dir);
    if (d.fill) writeFileSync(join(dir, FILL), Buffer.alloc(d.fill * MiB, 0x5a));
  }
  const dir = (name: string): string => {
    const d = dirs.get(name);
    if (d === undefined) throw new Error(`no branch named '${name}'`);
    return d;
  };
  const fx: Fixture = {
    root,
    defs,
    dir,
    at: (name, ...rel) => join(dir(name), ...rel),
    spec: (only) =>
      defs
        .filter((d) => only === undefined || only.includes(d.name))
        .map((d) => {
          const path = dir(d.name);
          if (d.minfree !== undefined) return `${path}=${d.mode ?? 'RW'},${d.minfree}`;
          if (d.mode !== undefined) return `${path}=${d.mode}`;
          return path;
        })
        .join(':'),
    where: (rel) => defs.filter((d) => exists(join(dir(d.name), rel))).map((d) => d.name),
    avail: (name) => {
      const s = statfsSync(dir(name));
      return s.bavail * s.bsize;
    },
    track: (u) => {
      unions.push(u);
    },
  };
  populate?.(fx);
  return fx;
}

/** lstat succeeds (a dangling symlink exists). */
export function exists(p: string): boolean {
  try {
    lstatSync(p);
    return true;
  } catch {
    return false;
  }
}

/** Mounts braidfs over the fixture's branches (`-o` options as given); unmounted in teardown before the tmpfs. */
export async function mountBraidfs(t: ExecutionContext, fx: Fixture, options: readonly string[] = [], only?: readonly string[]): Promise<Mounted> {
  const m = await withMount(t, { source: fx.spec(only), options: [...options] });
  fx.track(() => m.unmount());
  return m;
}

export interface MergerfsMount {
  readonly mountpoint: string;
  readonly child: ChildProcess;
  path(...p: string[]): string;
  log(): string;
  unmount(): Promise<void>;
}

/**
 * Mounts Debian's mergerfs (2.33) over the fixture's branches, in the
 * foreground as a child process: `mergerfs -f -o OPTS a:b MOUNTPOINT`.
 * Teardown: fusermount3 -u, then umount -l, then SIGKILL.
 */
export async function mountMergerfs(t: ExecutionContext, fx: Fixture, options: readonly string[]): Promise<MergerfsMount> {
  const mountpoint = makeTempDir('braidfs-mergerfs-');
  const args = ['-f', ...(options.length ? ['-o', options.join(',')] : []), fx.spec(), mountpoint];
  const child = spawn('/usr/bin/mergerfs', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.setEncoding('utf8');
  child.stderr.setEncoding('utf8');
  child.stdout.on('data', (d: string) => (out += d));
  child.stderr.on('data', (d: string) => (out += d));
  let done = false;
  const unmount = async (): Promise<void> => {
    if (done) return;
    done = true;
    await forceUnmount(mountpoint, child);
    try {
      rmdirSync(mountpoint);
    } catch {
      // busy or gone
    }
  };
  t.teardown(unmount);
  fx.track(unmount);
  const deadline = Date.now() + 15_000;
  while (!isMounted(mountpoint)) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`mergerfs exited before mounting (${child.exitCode ?? child.signalCode}): ${out}`);
    if (Date.now() > deadline) throw new Error(`mergerfs did not mount within 15 s: ${out}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return { mountpoint, child, path: (...p) => join(mountpoint, ...p), log: () => out, unmount };
}

/** 'OK' when `fn` returns, else the error's code ('EROFS', 'ENOSPC', …). Errors without a code are rethrown. */
export function errnoOf(fn: () => unknown): string {
  try {
    fn();
    return 'OK';
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (typeof code === 'string') return code;
    throw e;
  }
}

/** One line per entry under `dir` (recursive, sorted): `rel type size mode [-> target]`, FILL left out. */
export function tree(dir: string): string[] {
  const out: string[] = [];
  const walk = (rel: string): void => {
    const names = readdirSync(join(dir, rel)).sort();
    for (const name of names) {
      if (rel === '' && name === FILL) continue;
      const r = rel === '' ? name : `${rel}/${name}`;
      const p = join(dir, r);
      const st = lstatSync(p);
      const mode = (st.mode & 0o7777).toString(8);
      if (st.isDirectory()) {
        out.push(`${r} d ${mode}`);
        walk(r);
      } else if (st.isSymbolicLink()) out.push(`${r} l -> ${readlinkSync(p)}`);
      else out.push(`${r} ${st.isFile() ? 'f' : 'o'} ${st.size} ${mode} nlink=${st.nlink}`);
    }
  };
  if (existsSync(dir)) walk('');
  return out;
}

/** Writes `content` to a branch file directly, creating its directories. */
export function put(fx: Fixture, branch: string, rel: string, content: string | Buffer = ''): void {
  const p = fx.at(branch, rel);
  mkdirSync(join(p, '..'), { recursive: true });
  writeFileSync(p, content);
}

/** Creates a directory (and its parents) on a branch directly. */
export function putDir(fx: Fixture, branch: string, rel: string): void {
  mkdirSync(fx.at(branch, rel), { recursive: true });
}

const TRUNCATE_PY = [
  'import errno, os, sys',
  'try:',
  '    os.truncate(sys.argv[1], int(sys.argv[2]))',
  "    print('OK')",
  'except OSError as e:',
  '    print(errno.errorcode.get(e.errno, str(e.errno)))',
].join('\n');

/**
 * truncate(2) by path (a SETATTR without a file handle, so the action policy
 * decides). Node's fs.truncate opens the file and ftruncates the descriptor,
 * which is a different FUSE path. Returns 'OK' or the errno name.
 */
export function truncatePath(path: string, length: number): string {
  const r = spawnSync('python3', ['-c', TRUNCATE_PY, path, String(length)], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`python3 truncate failed: ${r.stderr}`);
  return r.stdout.trim();
}
