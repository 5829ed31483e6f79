// braidfs benchmark suite (`npm run bench`). Every workload runs, in this one
// process run, against a plain directory, braidfs (passthrough, the default),
// braidfs without passthrough, Debian's mergerfs 2.33, and for the overlay
// copy-up against fuse-overlayfs 1.10; it prints medians with ratios to the
// plain directory and writes test/bench/results/<name>.json with every raw
// sample. See test/bench/README.md.
//
//   node dist/test/bench/run.js [--quick] [--reps N] [--only a,b] [--skip a,b] [--name NAME] ...
import { mkdirSync, mkdtempSync, rmdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { repoRoot } from '../helpers/mount.js';
import { machineInfo, RATIO_NOTE, Results, table, type MachineInfo } from './report.js';
import { makeScratchExt4, safeRemove } from './sys.js';
import { available, OVERLAY_TARGETS, overlayCommand, POOL_TARGETS, poolCommand, setLogDir, shutdown, snapshotBraidfs, type Target } from './targets.js';
import { FULL_SIZES, human, QUICK_SIZES, seqReps, WORKLOADS, type Ctx, type Sizes } from './workloads.js';

const HELP = `usage: node dist/test/bench/run.js [options]

  --quick             tiny sizes, 1 rep unless --reps: a smoke run (< 2 min)
  --reps N            repetitions per target (default 3; medians are printed)
  --only a,b          run only these workloads (repeatable)
  --skip a,b          leave these workloads out
  --name NAME         results file test/bench/results/NAME.json
                      (default: bench, quick for --quick, bench-<only> for --only)
  --work-dir DIR      where the scratch space goes, removed at the end (default /var/tmp)
  --scratch-gib N     the scratch space is a fresh ext4 of N GiB on a loop device
                      whose image lives in /dev/shm (default 16, sparse; 0: a plain
                      directory under --work-dir instead)
  --tree-dir DIR      where the memory workload's trees are kept between runs
                      (default /var/tmp/braidfs-bench-tree)
  --no-snapshot       mount braidfs from the live tree (default: a private copy
                      of bin/ and dist/ made at start, so a rebuild cannot mix versions)
  sizes (defaults: full / --quick):
  --seq-mib N         sequential file (2048 / 64)
  --rand-mib N        random-read file (1024 / 64)
  --rand-seconds N    each random-read run (10 / 1)
  --meta-files N      metadata workload files, in 100 directories (20000 / 2000)
  --tar-files N       files in the tarball (30000 / 2000)
  --ls-entries N      entries of the listed directory (50000 / 5000)
  --copy-mib N        copied-up file (1024 / 64)
  --mem-files N       files walked by the memory workload (500000 / 20000)
  --forget-wait S     seconds to wait after the forget before reading RSS (5 / 1)

workloads:
${WORKLOADS.map((w) => `  ${w.name.padEnd(10)} ${w.title}`).join('\n')}
`;

interface Options {
  quick: boolean;
  reps: number | undefined;
  only: string[];
  skip: string[];
  name: string | undefined;
  workDir: string;
  scratchGiB: number;
  treeDir: string;
  snapshot: boolean;
  sizes: Partial<Sizes>;
}

function usage(msg: string): never {
  process.stderr.write(`${msg}\n\n${HELP}`);
  process.exit(2);
}

function parseArgs(argv: readonly string[]): Options {
  const o: Options = { quick: false, reps: undefined, only: [], skip: [], name: undefined, workDir: '/var/tmp', scratchGiB: 16, treeDir: '/var/tmp/braidfs-bench-tree', snapshot: true, sizes: {} };
  const sizeFlags: Record<string, (v: number) => Partial<Sizes>> = {
    'seq-mib': (v) => ({ seqBytes: v * 1024 * 1024 }),
    'rand-mib': (v) => ({ randBytes: v * 1024 * 1024 }),
    'rand-seconds': (v) => ({ randSeconds: v }),
    'meta-files': (v) => ({ metaFiles: v }),
    'tar-files': (v) => ({ tarFiles: v }),
    'ls-entries': (v) => ({ lsEntries: v }),
    'copy-mib': (v) => ({ copyBytes: v * 1024 * 1024 }),
    'mem-files': (v) => ({ memFiles: v }),
    'forget-wait': (v) => ({ forgetWaitMs: v * 1000 }),
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const [flag, inline] = a.startsWith('--') && a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
    const value = (): string => {
      const v = inline ?? argv[++i];
      if (v === undefined) usage(`${flag} needs a value`);
      return v;
    };
    const num = (): number => {
      const v = Number(value());
      if (!Number.isFinite(v) || v <= 0) usage(`${flag} needs a positive number`);
      return v;
    };
    switch (flag) {
      case '-h':
      case '--help':
        process.stdout.write(HELP);
        process.exit(0);
        break;
      case '--quick':
        o.quick = true;
        break;
      case '--reps':
        o.reps = Math.round(num());
        break;
      case '--only':
        o.only.push(...value().split(',').filter(Boolean));
        break;
      case '--skip':
        o.skip.push(...value().split(',').filter(Boolean));
        break;
      case '--name':
        o.name = value();
        if (!/^[\w.-]+$/.test(o.name)) usage('--name: letters, digits, . _ - only');
        break;
      case '--work-dir':
        o.workDir = value();
        break;
      case '--scratch-gib':
        o.scratchGiB = Number(value());
        if (!Number.isInteger(o.scratchGiB) || o.scratchGiB < 0) usage('--scratch-gib: a whole number of GiB');
        break;
      case '--tree-dir':
        o.treeDir = value();
        break;
      case '--no-snapshot':
        o.snapshot = false;
        break;
      default: {
        const f = sizeFlags[flag.replace(/^--/, '')];
        if (!flag.startsWith('--') || !f) usage(`unknown argument ${a}`);
        Object.assign(o.sizes, f(num()));
      }
    }
  }
  for (const w of [...o.only, ...o.skip]) if (!WORKLOADS.some((x) => x.name === w)) usage(`no workload named ${w}`);
  return o;
}

function commandLine(t: Target, kind: 'pool' | 'overlay'): string {
  if (t.program === 'plain') return kind === 'pool' ? 'the plain directory' : 'cp LOWER/big DST/big && echo x >> DST/big';
  const { bin, args } = kind === 'pool' ? poolCommand(t, ['B1', 'B2'], 'MNT') : overlayCommand(t, { lower: 'L', upper: 'U', work: 'W' }, 'MNT');
  return [bin.endsWith('/bin/braidfs') ? 'braidfs' : bin, ...args].join(' ');
}

async function main(): Promise<number> {
  const opts = parseArgs(process.argv.slice(2));
  const sizes: Sizes = { ...(opts.quick ? QUICK_SIZES : FULL_SIZES), ...opts.sizes };
  const reps = opts.reps ?? (opts.quick ? 1 : 3);
  const selected = WORKLOADS.filter((w) => (opts.only.length === 0 || opts.only.includes(w.name)) && !opts.skip.includes(w.name));
  const name = opts.name ?? (opts.quick ? 'quick' : opts.only.length > 0 ? `bench-${opts.only.join('-')}` : 'bench');
  if (process.getuid?.() !== 0) console.error('warning: not root: caches cannot be dropped and braidfs cannot use passthrough; the numbers will not mean much');

  mkdirSync(opts.workDir, { recursive: true });
  mkdirSync(opts.treeDir, { recursive: true });
  const scratchDir = mkdtempSync(join(opts.workDir, 'braidfs-bench-'));
  const scratch = opts.scratchGiB > 0 ? makeScratchExt4(scratchDir, opts.scratchGiB) : undefined;
  const base = scratch ? mkdtempSync(join(scratch.dir, 'run-')) : scratchDir;
  const removeScratch = (): void => {
    safeRemove(base);
    scratch?.remove();
    if (scratch) rmdirSync(scratchDir);
  };
  const t0 = performance.now();
  const log = (msg: string): void => {
    const s = ((performance.now() - t0) / 1000).toFixed(0).padStart(5);
    process.stdout.write(`[${s}s] ${msg}\n`);
  };

  // Ctrl-C or kill: unmount everything, remove the scratch space, exit 130.
  let stopping = false;
  const onSignal = (sig: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`\n${sig}: unmounting and cleaning up…\n`);
    void (async () => {
      try {
        await shutdown();
        removeScratch();
      } finally {
        process.exit(130);
      }
    })();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', onSignal);

  const results = new Results();
  let machine: MachineInfo | undefined;
  const durations: Record<string, number> = {};
  const outDir = join(repoRoot, 'test', 'bench', 'results');
  const outFile = join(outDir, `${name}.json`);
  const pool = POOL_TARGETS.filter((t) => available(t.program));
  const overlay = OVERLAY_TARGETS.filter((t) => available(t.program));
  const save = (complete: boolean): void => {
    results.finalize();
    if (machine && complete) machine.loadavgAtEnd = loadavg().map((x) => Math.round(x * 100) / 100);
    const doc = {
      name,
      complete,
      machine,
      config: { reps, quick: opts.quick, workloads: selected.map((w) => w.name), sizes, treeDir: opts.treeDir, workDir: opts.workDir, scratchGiB: opts.scratchGiB },
      targets: [...pool.map((t) => ({ ...t, kind: 'pool', command: commandLine(t, 'pool') })), ...overlay.map((t) => ({ ...t, kind: 'overlay', command: commandLine(t, 'overlay') }))],
      ratioNote: RATIO_NOTE,
      tables: { pool: table(results, 'pool', pool), overlay: table(results, 'overlay', overlay) },
      metrics: results.metrics,
      notes: results.notes,
      errors: results.errors,
      durationsS: durations,
    };
    mkdirSync(outDir, { recursive: true });
    writeFileSync(outFile, `${JSON.stringify(doc, null, 2)}\n`);
  };

  try {
    setLogDir(join(base, 'logs'));
    if (opts.snapshot) snapshotBraidfs(join(base, 'braidfs'));
    machine = machineInfo(base, opts.snapshot);
    for (const t of [...POOL_TARGETS, ...OVERLAY_TARGETS]) if (!available(t.program)) log(`${t.label}: not installed, left out`);
    log(`braidfs bench → ${outFile}`);
    log(`${machine.kernel}, ${machine.cpus} CPUs, node ${machine.node}, work dir ${base} (${machine.workFs ?? '?'}), load ${machine.loadavgAtStart.join(' ')}`);
    log(`reps ${reps}; seq ${human(sizes.seqBytes)}, randread ${human(sizes.randBytes)} × ${sizes.randSeconds} s, meta ${sizes.metaFiles}, tar ${sizes.tarFiles}, ls ${sizes.lsEntries}, copy-up ${human(sizes.copyBytes)}, memory ${sizes.memFiles}`);
    if (machine.braidfs.dirty.length > 0) log(`braidfs: uncommitted changes in ${machine.braidfs.dirty.length} files (recorded in the JSON)`);
    const ctx: Ctx = { base, treeRoot: opts.treeDir, sizes, reps, results, pool, overlay, log };
    for (const w of selected) {
      if (stopping) break;
      log(`== ${w.name}: ${w.title}`);
      const w0 = performance.now();
      try {
        await w.run(ctx);
      } catch (e) {
        const message = e instanceof Error ? (e.stack ?? e.message) : String(e);
        results.error({ workload: w.name, target: '*', rep: null, message });
        log(`  !! ${w.name} aborted: ${message.split('\n')[0]}`);
      }
      durations[w.name] = Math.round((performance.now() - w0) / 100) / 10;
      log(`   ${w.name} took ${durations[w.name]} s`);
      save(false);
    }
  } finally {
    await shutdown();
    removeScratch();
  }
  save(true);

  const seq = seqReps(reps);
  const header = `braidfs bench: median of ${reps} rep${reps > 1 ? 's' : ''}${seq !== reps ? ` (${seq} for seq)` : ''}; ${RATIO_NOTE}`;
  const parts = [header, table(results, 'pool', pool), table(results, 'overlay', overlay)].filter((s) => s !== '');
  process.stdout.write(`\n${parts.join('\n\n')}\n`);
  if (results.errors.length > 0) {
    process.stdout.write(`\n${results.errors.length} error(s):\n`);
    for (const e of results.errors) process.stdout.write(`  ${e.workload} / ${e.target}${e.rep === null ? '' : ` rep ${e.rep + 1}`}: ${e.message.split('\n')[0]}\n`);
  }
  process.stdout.write(`\nwrote ${outFile} (${((performance.now() - t0) / 1000).toFixed(0)} s)\n`);
  return results.errors.length > 0 ? 1 : 0;
}

process.exitCode = await main();
