// One worker process of concurrency.test.ts (not a test file itself).
//   node concurrency-worker.js <root> <id> <durationMs>
// Creates, rewrites, pwrites, reads, stats, renames and unlinks its own files
// in <root>/shared (contended by every worker) and <root>/w<id> (its own),
// and stats/reads other workers' files (racing, so ENOENT is allowed).
// Verifies its own files as it goes; prints one JSON line at the end:
// { id, files: { relpath: sha256 }, ops, errors }.
import { createHash, randomBytes } from 'node:crypto';
import {
  closeSync,
  fstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';

const [rootArg, idArg, durArg] = process.argv.slice(2);
if (rootArg === undefined || idArg === undefined || durArg === undefined) {
  process.stderr.write('usage: concurrency-worker <root> <id> <durationMs>\n');
  process.exit(2);
}
const root: string = rootArg;
const id = Number(idArg);
const duration = Number(durArg);
const own = `w${id}`;
mkdirSync(join(root, 'shared'), { recursive: true });
mkdirSync(join(root, own), { recursive: true });

/** relpath → expected content */
const files = new Map<string, Buffer>();
const ops: Record<string, number> = {};
const errors: string[] = [];
let seq = 0;

const hash = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
const pick = <T>(a: readonly T[]): T | undefined => a[Math.floor(Math.random() * a.length)];
const note = (op: string): void => {
  ops[op] = (ops[op] ?? 0) + 1;
};
const fail = (msg: string): void => {
  if (errors.length < 50) errors.push(msg);
};
const newName = (): string => `${Math.random() < 0.5 ? 'shared' : own}/${own}-f${seq++}`;
const content = (): Buffer => {
  const r = Math.random();
  const size = r < 0.1 ? 0 : r < 0.8 ? Math.floor(Math.random() * 8192) : Math.floor(Math.random() * 200_000);
  return randomBytes(size);
};

function verify(rel: string): void {
  const want = files.get(rel);
  if (!want) return;
  const got = readFileSync(join(root, rel));
  if (!got.equals(want)) fail(`read ${rel}: ${got.length} bytes sha ${hash(got)}, expected ${want.length} bytes sha ${hash(want)}`);
}

function step(): void {
  const mine = [...files.keys()];
  const r = Math.random();
  if (r < 0.2 || mine.length < 5) {
    const rel = newName();
    const data = content();
    writeFileSync(join(root, rel), data, { flag: 'wx' });
    files.set(rel, data);
    note('create');
  } else if (r < 0.3) {
    const rel = pick(mine)!;
    const data = content();
    writeFileSync(join(root, rel), data);
    files.set(rel, data);
    note('rewrite');
  } else if (r < 0.4) {
    // pwrite somewhere inside or just past the end (extends the file)
    const rel = pick(mine)!;
    const old = files.get(rel)!;
    const at = Math.floor(Math.random() * (old.length + 1));
    const patch = randomBytes(1 + Math.floor(Math.random() * 5000));
    const fd = openSync(join(root, rel), 'r+');
    try {
      writeSync(fd, patch, 0, patch.length, at);
      const size = fstatSync(fd).size;
      const next = Buffer.alloc(Math.max(old.length, at + patch.length));
      old.copy(next);
      patch.copy(next, at);
      if (size !== next.length) fail(`fstat ${rel} after pwrite: size ${size}, expected ${next.length}`);
      files.set(rel, next);
    } finally {
      closeSync(fd);
    }
    note('pwrite');
  } else if (r < 0.6) {
    verify(pick(mine)!);
    note('read');
  } else if (r < 0.7) {
    const rel = pick(mine)!;
    const st = statSync(join(root, rel));
    const want = files.get(rel)!.length;
    if (st.size !== want) fail(`stat ${rel}: size ${st.size}, expected ${want}`);
    if (!st.isFile()) fail(`stat ${rel}: not a regular file`);
    note('stat');
  } else if (r < 0.8) {
    // other workers' files: racing with their renames/unlinks, so ENOENT is fine
    const names = readdirSync(join(root, 'shared'));
    for (let i = 0; i < 3; i++) {
      const n = pick(names);
      if (n === undefined) break;
      try {
        const p = join(root, 'shared', n);
        statSync(p);
        readFileSync(p);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') fail(`stat/read shared/${n}: ${String(e)}`);
      }
    }
    note('peek');
  } else if (r < 0.9) {
    const rel = pick(mine)!;
    const to = newName();
    renameSync(join(root, rel), join(root, to));
    files.set(to, files.get(rel)!);
    files.delete(rel);
    verify(to);
    note('rename');
  } else {
    const rel = pick(mine)!;
    unlinkSync(join(root, rel));
    files.delete(rel);
    try {
      statSync(join(root, rel));
      fail(`stat ${rel} after unlink succeeded`);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') fail(`stat ${rel} after unlink: ${String(e)}`);
    }
    note('unlink');
  }
}

const end = Date.now() + duration;
while (Date.now() < end) {
  try {
    step();
  } catch (e) {
    fail(`unexpected: ${e instanceof Error ? e.message : String(e)}`);
  }
}
for (const rel of files.keys()) verify(rel);
const out: Record<string, string> = {};
for (const [rel, data] of files) out[rel] = hash(data);
process.stdout.write(JSON.stringify({ id, files: out, ops, errors }) + '\n');
