// The metadata workload's worker: one phase of create / stat / unlink of
// FILES empty files spread over DIRS directories under ROOT, as plain
// synchronous syscalls from a process of its own (never the daemon's, never
// the benchmark's). It times the phase itself, so process start-up is not
// counted, and prints {"seconds": S, "files": N}.
//
//   node dist/test/bench/child.js create|stat|unlink ROOT DIRS FILES
//
// create: mkdir ROOT and its DIRS directories, then open(O_CREAT|O_EXCL|O_WRONLY) + close each file.
// stat:   lstat each file by path (no readdir).
// unlink: unlink each file, rmdir each directory and ROOT.
import { closeSync, lstatSync, mkdirSync, openSync, rmdirSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

const [op, root, dirsArg, filesArg] = process.argv.slice(2);
if (root === undefined || dirsArg === undefined || filesArg === undefined || !['create', 'stat', 'unlink'].includes(op ?? '')) {
  process.stderr.write('usage: child.js create|stat|unlink ROOT DIRS FILES\n');
  process.exit(2);
}
const ndirs = Number(dirsArg);
const nfiles = Number(filesArg);
const dirs = Array.from({ length: ndirs }, (_, d) => join(root, `d${d}`));
// File i goes to directory i % DIRS; paths are built before the clock starts.
const files = Array.from({ length: nfiles }, (_, i) => join(dirs[i % ndirs]!, `f${i}`));

const t0 = performance.now();
if (op === 'create') {
  mkdirSync(root);
  for (const d of dirs) mkdirSync(d);
  for (const f of files) closeSync(openSync(f, 'wx', 0o644));
} else if (op === 'stat') {
  let n = 0;
  for (const f of files) if (lstatSync(f).isFile()) n++;
  if (n !== nfiles) throw new Error(`stat: ${n} of ${nfiles} are files`);
} else {
  for (const f of files) unlinkSync(f);
  for (const d of dirs) rmdirSync(d);
  rmdirSync(root);
}
const seconds = (performance.now() - t0) / 1000;
process.stdout.write(`${JSON.stringify({ op, seconds, files: nfiles })}\n`);
