// First measurement of the loopback: the same workloads, in one run, on a
// plain directory, on braidfs with passthrough, on braidfs without it, and on
// mergerfs (Debian's 2.33, a peer) when installed. Prints medians and ratios
// to the plain directory and writes JSON next to this file's results/.
//
//   node dist/test/bench/loopback.js [--size-mib 1024] [--files 20000] [--reps 3]
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { makeTempDir, mountBraidfs, forceUnmount, isMounted, repoRoot, type Mounted } from '../helpers/mount.js';

interface Target {
  name: string;
  dir: string;
  cleanup(): Promise<void>;
}

const arg = (name: string, dflt: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
};
const sizeMiB = arg('size-mib', 1024);
const files = arg('files', 20000);
const reps = arg('reps', 3);

function dropCaches(): void {
  spawnSync('sync');
  try {
    writeFileSync('/proc/sys/vm/drop_caches', '3');
  } catch {
    // not root: measurements include the page cache
  }
}

function timed(fn: () => void): number {
  const t0 = performance.now();
  fn();
  return (performance.now() - t0) / 1000;
}

function seqWrite(dir: string): number {
  const f = join(dir, 'seq.bin');
  rmSync(f, { force: true });
  return timed(() => execFileSync('dd', ['if=/dev/zero', `of=${f}`, 'bs=1M', `count=${sizeMiB}`, 'conv=fsync', 'status=none']));
}

function seqRead(dir: string): number {
  return timed(() => execFileSync('dd', [`if=${join(dir, 'seq.bin')}`, 'of=/dev/null', 'bs=1M', 'status=none']));
}

/** Stat of `files` files in 100 directories, from a separate process (find -printf forces a stat per file). */
function statFiles(dir: string): number {
  const root = join(dir, 'stat');
  if (!existsSync(join(root, 'd99'))) {
    execFileSync('sh', ['-c', `mkdir -p ${root} && cd ${root} && for d in $(seq 0 99); do mkdir d$d; done`]);
    const per = Math.ceil(files / 100);
    execFileSync('python3', ['-c', `import os\nfor d in range(100):\n  for i in range(${per}):\n    open(os.path.join('${root}', f'd{d}', f'f{i}'), 'w').close()`]);
  }
  // A fresh mount of the kernel's dentry cache is not possible without a
  // remount; let entries expire (cache.entry=1) so the run really stats.
  spawnSync('sleep', ['1.2']);
  return timed(() => execFileSync('python3', ['-c', `import os\nn=0\nfor d in range(100):\n  p=os.path.join('${root}', f'd{d}')\n  for e in os.listdir(p):\n    os.lstat(os.path.join(p, e)); n+=1\nprint(n)`]));
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function braidfsTarget(name: string, options: string[]): Promise<Target> {
  const m: Mounted = await mountBraidfs({ options });
  return { name, dir: m.mountpoint, cleanup: async () => { await m.unmount(); rmSync(m.source, { recursive: true, force: true }); } };
}

async function mergerfsTarget(): Promise<Target | undefined> {
  if (spawnSync('which', ['mergerfs']).status !== 0) return undefined;
  const src = makeTempDir('bench-mfs-src-');
  const mnt = makeTempDir('bench-mfs-mnt-');
  // Matching options: kernel caches as braidfs (entry/attr 1 s), page cache on.
  const r = spawnSync('mergerfs', ['-o', 'cache.files=partial,cache.entry=1,cache.attr=1,allow_other', src, mnt]);
  if (r.status !== 0 || !isMounted(mnt)) return undefined;
  return { name: 'mergerfs 2.33', dir: mnt, cleanup: async () => { await forceUnmount(mnt); rmSync(src, { recursive: true, force: true }); } };
}

async function main(): Promise<void> {
  const plainDir = makeTempDir('bench-plain-');
  const targets: Target[] = [{ name: 'plain', dir: plainDir, cleanup: async () => rmSync(plainDir, { recursive: true, force: true }) }];
  try {
    targets.push(await braidfsTarget('braidfs passthrough', []));
    targets.push(await braidfsTarget('braidfs no-passthrough', ['passthrough.io=off']));
    const mfs = await mergerfsTarget();
    if (mfs) targets.push(mfs);
    const results: Record<string, Record<string, number>> = {};
    for (const t of targets) {
      const w: number[] = [], r: number[] = [], s: number[] = [];
      for (let i = 0; i < reps; i++) {
        w.push(seqWrite(t.dir));
        dropCaches();
        r.push(seqRead(t.dir));
        s.push(statFiles(t.dir));
      }
      results[t.name] = { seqWriteMiBs: sizeMiB / median(w), seqReadMiBs: sizeMiB / median(r), statFilesPerSec: files / median(s) };
      rmSync(join(t.dir, 'seq.bin'), { force: true });
    }
    const base = results.plain!;
    console.log(`loopback bench: ${sizeMiB} MiB sequential (dd bs=1M), stat of ${files} files, median of ${reps}`);
    console.log('target'.padEnd(26) + 'write MiB/s (×plain)'.padEnd(24) + 'read MiB/s (×plain)'.padEnd(24) + 'stat/s (×plain)');
    for (const [name, r] of Object.entries(results)) {
      const cell = (v: number, b: number): string => `${v.toFixed(0)} (${(v / b).toFixed(2)}×)`.padEnd(24);
      console.log(name.padEnd(26) + cell(r.seqWriteMiBs!, base.seqWriteMiBs!) + cell(r.seqReadMiBs!, base.seqReadMiBs!) + cell(r.statFilesPerSec!, base.statFilesPerSec!));
    }
    const outDir = join(repoRoot, 'test', 'bench', 'results');
    mkdirSync(outDir, { recursive: true });
    writeFileSync(join(outDir, 'loopback.json'), JSON.stringify({ date: new Date().toISOString(), sizeMiB, files, reps, results }, null, 2) + '\n');
  } finally {
    for (const t of targets) await t.cleanup();
  }
}

await main();
