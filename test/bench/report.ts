// Results: raw samples per metric and target, medians, ratios to the
// baseline, machine information, and the printed table.
//
// Ratio convention, for every metric with a baseline: "× plain speed", so
// higher is better everywhere and 1.00× is the plain directory. Throughput:
// target / plain. Times: plain time / target time.
import { spawnSync } from 'node:child_process';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { repoRoot } from '../helpers/mount.js';
import { firstLine } from './sys.js';
import type { Target } from './targets.js';

export type Unit = 'MiB/s' | 'IOPS' | 's' | 'MiB' | 'count';

export interface MetricDef {
  /** Unique within its workload. */
  id: string;
  /** Row label. */
  label: string;
  unit: Unit;
  better: 'higher' | 'lower';
  /** Target id of the 1.00× column; none: values only (daemon memory). */
  baseline?: string;
}

export interface MetricResult extends MetricDef {
  workload: string;
  /** Which table it is printed in ('pool' or 'overlay'). */
  table: TableName;
  samples: Record<string, number[]>;
  median: Record<string, number>;
  ratio: Record<string, number>;
}

export type TableName = 'pool' | 'overlay';

export interface RunError {
  workload: string;
  target: string;
  rep: number | null;
  message: string;
  /** The daemon's stderr (tail) when it failed. */
  daemonLog?: string;
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  if (n === 0) return NaN;
  return n % 2 === 1 ? s[(n - 1) / 2]! : (s[n / 2 - 1]! + s[n / 2]!) / 2;
}

export class Results {
  readonly metrics: MetricResult[] = [];
  readonly errors: RunError[] = [];
  /** Per-workload facts that are not metrics (sizes, corrections, node counts). */
  readonly notes: Record<string, Record<string, unknown>> = {};

  define(workload: string, table: TableName, def: MetricDef): void {
    if (this.find(workload, def.id)) return;
    this.metrics.push({ ...def, workload, table, samples: {}, median: {}, ratio: {} });
  }

  add(workload: string, metric: string, target: string, value: number): void {
    const m = this.find(workload, metric);
    if (!m) throw new Error(`metric ${workload}/${metric} not defined`);
    (m.samples[target] ??= []).push(value);
  }

  note(workload: string, key: string, value: unknown): void {
    (this.notes[workload] ??= {})[key] = value;
  }

  error(e: RunError): void {
    this.errors.push(e);
  }

  private find(workload: string, id: string): MetricResult | undefined {
    return this.metrics.find((m) => m.workload === workload && m.id === id);
  }

  /** Medians and ratios from the samples so far. */
  finalize(): void {
    for (const m of this.metrics) {
      m.median = {};
      m.ratio = {};
      for (const [t, xs] of Object.entries(m.samples)) if (xs.length > 0) m.median[t] = median(xs);
      const base = m.baseline === undefined ? undefined : m.median[m.baseline];
      if (base === undefined) continue;
      for (const [t, v] of Object.entries(m.median)) {
        m.ratio[t] = m.better === 'higher' ? v / base : base / v;
      }
    }
  }
}

function fmtValue(v: number, unit: Unit): string {
  if (!Number.isFinite(v)) return String(v);
  switch (unit) {
    case 'MiB/s':
      return `${v.toFixed(0)} MiB/s`;
    case 'IOPS':
      return v >= 1e4 ? `${(v / 1000).toFixed(1)}k IOPS` : `${v.toFixed(0)} IOPS`;
    case 's':
      return `${v < 1 ? v.toFixed(3) : v < 10 ? v.toFixed(2) : v.toFixed(1)} s`;
    case 'MiB':
      return `${v.toFixed(0)} MiB`;
    case 'count':
      return v.toFixed(0);
  }
}

/** A markdown table (aligned, so it also reads in a terminal): one row per metric, one column per target. */
export function table(results: Results, name: TableName, targets: readonly Target[]): string {
  const rows = results.metrics.filter((m) => m.table === name && Object.keys(m.median).length > 0);
  if (rows.length === 0) return '';
  const cols = targets.filter((t) => rows.some((m) => m.median[t.id] !== undefined));
  const header = ['workload (median)', ...cols.map((t) => t.label)];
  const body = rows.map((m) => [
    m.label,
    ...cols.map((t) => {
      const v = m.median[t.id];
      if (v === undefined) return m.samples[t.id] === undefined && results.errors.some((e) => e.workload === m.workload && e.target === t.id) ? 'FAILED' : '—';
      const r = m.ratio[t.id];
      return r === undefined ? fmtValue(v, m.unit) : `${fmtValue(v, m.unit)} ${r.toFixed(2)}×`;
    }),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((r) => r[i]!.length)));
  const line = (cells: string[]): string => `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ')} |`;
  const sep = `|${widths.map((w, i) => (i === 0 ? `${'-'.repeat(w + 1)}-` : `${'-'.repeat(w + 1)}:`)).join('|')}|`;
  return [line(header), sep, ...body.map(line)].join('\n');
}

export interface MachineInfo {
  date: string;
  kernel: string;
  cpus: number;
  cpuModel: string | undefined;
  memGiB: number;
  node: string;
  loadavgAtStart: number[];
  loadavgAtEnd?: number[];
  workFs: string | undefined;
  fio: string | undefined;
  mergerfs: string | undefined;
  fuseOverlayfs: string | undefined;
  braidfs: { commit: string | undefined; dirty: string[]; snapshot: boolean };
}

export function machineInfo(workDir: string, snapshot: boolean): MachineInfo {
  const git = (args: string[]): string | undefined => {
    const r = spawnSync('git', ['-C', repoRoot, ...args], { encoding: 'utf8' });
    return r.status === 0 ? r.stdout.trimEnd() : undefined;
  };
  const c = cpus();
  return {
    date: new Date().toISOString(),
    kernel: release(),
    cpus: c.length,
    cpuModel: c[0]?.model,
    memGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    loadavgAtStart: loadavg().map((x) => Math.round(x * 100) / 100),
    workFs: firstLine('findmnt', ['-n', '-o', 'FSTYPE', '-T', workDir]),
    fio: firstLine('fio', ['--version']),
    mergerfs: firstLine('/usr/bin/mergerfs', ['-V']),
    fuseOverlayfs: firstLine('/usr/bin/fuse-overlayfs', ['--version'], /^fuse-overlayfs/),
    braidfs: {
      commit: git(['rev-parse', 'HEAD']),
      // Uncommitted changes in what the daemon runs (src/, policies/): the numbers belong to this tree, not the commit.
      dirty: (git(['status', '--porcelain', '--', 'src', 'policies', 'bin']) ?? '').split('\n').filter((l) => l !== ''),
      snapshot,
    },
  };
}

export const RATIO_NOTE =
  'Cells: median, then × plain speed (higher is better; plain = 1.00×): throughput target/plain, times plain time / target time.';
