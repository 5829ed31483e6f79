// 8 processes hammer one mount at once with create/write/pwrite/read/stat/
// rename/unlink; afterwards every surviving file holds exactly what its
// writer last wrote (checked through the mount and in the source), no file
// is missing or extra, and the daemon logged no errors.
import test from 'ava';
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { withMount } from '../helpers/mount.js';
import { sha256File } from './util.js';

const WORKERS = 8;
const DURATION_MS = 4000;
const workerJs = join(dirname(fileURLToPath(import.meta.url)), 'concurrency-worker.js');

interface WorkerReport {
  id: number;
  files: Record<string, string>;
  ops: Record<string, number>;
  errors: string[];
}

interface WorkerRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function runWorker(root: string, id: number): Promise<WorkerRun> {
  return new Promise((resolve) => {
    const c = spawn(process.execPath, [workerJs, root, String(id), String(DURATION_MS)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    c.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    c.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => c.kill('SIGKILL'), DURATION_MS + 60_000);
    c.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

function listFiles(root: string, rel = ''): string[] {
  const out: string[] = [];
  for (const e of readdirSync(join(root, rel), { withFileTypes: true })) {
    const p = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...listFiles(root, p));
    else out.push(p);
  }
  return out;
}

test(`${WORKERS} concurrent processes: every file holds what its writer wrote`, async (t) => {
  t.timeout(120_000);
  const m = await withMount(t);
  const runs = await Promise.all(Array.from({ length: WORKERS }, (_, i) => runWorker(m.mountpoint, i)));

  const expected = new Map<string, string>();
  const totals: Record<string, number> = {};
  for (const [i, r] of runs.entries()) {
    t.is(r.code, 0, `worker ${i} exit (signal ${r.signal}); stderr:\n${r.stderr}`);
    let rep: WorkerReport;
    try {
      rep = JSON.parse(r.stdout.trim().split('\n').pop() ?? '') as WorkerReport;
    } catch {
      t.fail(`worker ${i} printed no report: ${r.stdout.slice(0, 500)}`);
      continue;
    }
    t.deepEqual(rep.errors, [], `worker ${i} saw inconsistencies while running`);
    for (const [rel, h] of Object.entries(rep.files)) expected.set(rel, h);
    for (const [op, n] of Object.entries(rep.ops)) totals[op] = (totals[op] ?? 0) + n;
  }
  t.log(`ops: ${JSON.stringify(totals)}, surviving files: ${expected.size}`);
  t.true((totals['create'] ?? 0) >= WORKERS * 5, 'workers got real work done');

  const viaMount = listFiles(m.mountpoint).sort();
  const viaSource = listFiles(m.source).sort();
  t.deepEqual(viaMount, [...expected.keys()].sort(), 'the mount holds exactly the files the workers kept');
  t.deepEqual(viaSource, viaMount, 'the source holds the same files');

  const bad: string[] = [];
  for (const [rel, h] of expected) {
    const a = sha256File(m.path(rel));
    const b = sha256File(m.src(rel));
    if (a !== h || b !== h) bad.push(`${rel}: expected ${h.slice(0, 12)}, mount ${a.slice(0, 12)}, source ${b.slice(0, 12)}`);
  }
  t.deepEqual(bad, [], 'content mismatches');

  const errorLines = m.log().split('\n').filter((l) => /error/i.test(l));
  t.deepEqual(errorLines, [], 'daemon stderr has no error lines');
});
