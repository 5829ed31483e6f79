// Without passthrough, the addon answers READ and WRITE of open files itself
// (fuse/served-io.ts, addon.c "Open files served here"). Whichever side
// answers, a process must see what it sees on a plain directory: the same
// bytes, short reads only at EOF, holes, O_APPEND, the same errors. The
// workload runs in its own process (python3), once on a plain directory and
// once per mount variant; the stats line then tells who answered.
import test from 'ava';
import { rmSync } from 'node:fs';
import { makeTempDir, withMount, type Mounted } from '../helpers/mount.js';
import { run, waitFor } from './util.js';

const workload = String.raw`
import errno, hashlib, json, os, random, sys
d = sys.argv[1]
out = {}
rng = random.Random(7)
h = lambda b: hashlib.sha256(b).hexdigest()[:16]
p = os.path.join(d, 'f')
fd = os.open(p, os.O_RDWR | os.O_CREAT, 0o644)
sizes = [1, 100, 4096, 65536, 131079, 1 << 20, (1 << 20) + 3]
for i in range(150):
    os.pwrite(fd, rng.randbytes(rng.choice(sizes)), rng.randrange(0, 4 << 20))
size = os.fstat(fd).st_size
out['size'] = size
out['reads'] = []
for i in range(150):
    off = rng.randrange(0, size + 8192)
    b = os.pread(fd, rng.choice(sizes + [3 << 20]), off)
    out['reads'].append([off, len(b), h(b)])
out['pastEof'] = len(os.pread(fd, 4096, size + 100))
os.ftruncate(fd, size + (1 << 20))
out['hole'] = h(os.pread(fd, 1 << 20, size))
os.ftruncate(fd, 5000)
out['afterShrink'] = len(os.pread(fd, 1 << 20, 0))
# a second descriptor sees the first one's writes at once
other = os.open(p, os.O_RDONLY)
os.pwrite(fd, b'abc', 4998)
out['seenByOther'] = h(os.pread(other, 100, 4990))
os.close(other)
a = os.open(p, os.O_WRONLY | os.O_APPEND)
os.write(a, b'x' * 70000)
os.close(a)
out['afterAppend'] = os.stat(p).st_size
def err(f):
    try:
        return f()
    except OSError as e:
        return errno.errorcode[e.errno]
r = os.open(p, os.O_RDONLY)
out['writeOnReadOnly'] = err(lambda: os.write(r, b'a'))
os.close(r)
w = os.open(p, os.O_WRONLY)
out['readOnWriteOnly'] = err(lambda: len(os.read(w, 10)))
os.close(w)
os.close(fd)
with open(p, 'rb') as f:
    out['content'] = h(f.read())
print(json.dumps(out))
`;

/** Async: a blocking spawn would stall the other tests' daemons' log readers in this worker. */
async function runWorkload(dir: string): Promise<unknown> {
  const r = await run('python3', ['-c', workload, dir], { timeoutMs: 120_000 });
  if (r.code !== 0) throw new Error(`workload failed in ${dir}: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

/** READ and WRITE counts the addon answered, from the daemon's SIGUSR2 stats. */
async function answeredInAddon(m: Mounted): Promise<Map<string, number>> {
  const before = m.log().length;
  process.kill(m.pid, 'SIGUSR2');
  // The whole line: stderr may arrive in pieces.
  const whole = /answered in the addon:([^\n]*)\n/;
  if (!(await waitFor(() => whole.test(m.log().slice(before)), 20_000))) throw new Error(`no stats line; log:\n${m.log()}`);
  const line = whole.exec(m.log().slice(before))?.[1] ?? '';
  return new Map([...line.matchAll(/([A-Z]+)=(\d+)/g)].map((x) => [x[1]!, Number(x[2])]));
}

let expected: unknown;
test.before(async () => {
  const plain = makeTempDir('braidfs-served-plain-');
  try {
    expected = await runWorkload(plain);
  } finally {
    rmSync(plain, { recursive: true, force: true });
  }
});

const variants: ReadonlyArray<{ name: string; options: string[]; inAddon: boolean }> = [
  { name: 'default (the addon answers)', options: [], inAddon: true },
  { name: 'syscalls=pool (JS answers)', options: ['syscalls=pool'], inAddon: false },
  { name: 'reader=thread (JS answers)', options: ['reader=thread'], inAddon: false },
];

for (const cache of ['off', 'partial']) {
  for (const v of variants) {
    test(`no passthrough, cache.files=${cache}, ${v.name}: pread/pwrite results equal a plain directory's`, async (t) => {
      const m = await withMount(t, { options: ['passthrough.io=off', `cache.files=${cache}`, ...v.options] });
      t.deepEqual(await runWorkload(m.mountpoint), expected);
      const counts = await answeredInAddon(m);
      if (v.inAddon) {
        t.true((counts.get('READ') ?? 0) > 0, 'READs answered in the addon');
        t.true((counts.get('WRITE') ?? 0) > 0, 'WRITEs answered in the addon');
      } else {
        t.false(counts.has('READ') || counts.has('WRITE'), 'nothing answered in the addon');
      }
    });
  }
}

test('passthrough on: the addon answers no READ or WRITE (the kernel does the I/O)', async (t) => {
  const m = await withMount(t, { options: [] });
  t.deepEqual(await runWorkload(m.mountpoint), expected);
  const counts = await answeredInAddon(m);
  t.regex(m.log(), /passthrough=on/, 'passthrough works on this kernel as root');
  t.false(counts.has('READ') || counts.has('WRITE'));
});

// The addon's table of served files grows as files are opened and shrinks as
// they are released, in any order. Hundreds of files open at once, half of
// them closed in a scattered order, must each keep reading and writing their
// own data through their own descriptor.
const manyFiles = String.raw`
import os, random, sys
d = sys.argv[1]
rng = random.Random(3)
fds = {}
for i in range(400):
    fds[i] = os.open(os.path.join(d, f'm{i}'), os.O_RDWR | os.O_CREAT, 0o644)
    os.pwrite(fds[i], f'file {i} '.encode() * 50, 0)
order = list(fds)
rng.shuffle(order)
for i in order[:200]:
    os.close(fds.pop(i))
bad = []
for round in range(3):
    for i in rng.sample(sorted(fds), len(fds)):
        want = f'file {i} round {round} '.encode() * 20
        os.pwrite(fds[i], want, 4096)
        if os.pread(fds[i], len(want), 4096) != want or os.pread(fds[i], 8, 0) != (f'file {i} ' * 50).encode()[:8]:
            bad.append(i)
    # reopen a few closed ones: new handles take freed places
    for i in order[:20]:
        fds[i] = os.open(os.path.join(d, f'm{i}'), os.O_RDWR)
    order = order[20:]
for fd in fds.values():
    os.close(fd)
print('bad', sorted(set(bad)))
`;

test('no passthrough: 400 files open at once, half closed in scattered order, each keeps its own data', async (t) => {
  const m = await withMount(t, { options: ['passthrough.io=off', 'cache.files=off'] });
  const r = await run('python3', ['-c', manyFiles, m.mountpoint], { timeoutMs: 120_000 });
  t.is(r.code, 0, r.stderr);
  t.is(r.stdout.trim(), 'bad []');
  const counts = await answeredInAddon(m);
  t.true((counts.get('READ') ?? 0) >= 400 * 3, 'the READs were answered in the addon');
});
