// A deterministic file-system workload that returns a JSON-able record of
// everything it observed; run it on a mount and on a plain directory and the
// two records must be equal. Not a test file itself.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  appendFileSync,
  chmodSync,
  closeSync,
  existsSync,
  linkSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  renameSync,
  rmdirSync,
  statSync,
  symlinkSync,
  truncateSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';

export type Observation = string | number | boolean | null | Observation[] | { [k: string]: Observation };

const hash = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** Runs fn, recording its value or its error code. */
function observe(out: Record<string, Observation>, key: string, fn: () => Observation): void {
  try {
    out[key] = fn();
  } catch (e) {
    out[key] = `E:${(e as NodeJS.ErrnoException).code ?? String(e)}`;
  }
}

function tree(dir: string, rel = ''): string[] {
  const lines: string[] = [];
  for (const name of readdirSync(join(dir, rel)).sort()) {
    const p = rel ? `${rel}/${name}` : name;
    const st = lstatSync(join(dir, p));
    const kind = st.isDirectory() ? 'd' : st.isSymbolicLink() ? 'l' : st.isFile() ? 'f' : '?';
    lines.push(`${p} ${kind} ${(st.mode & 0o7777).toString(8)} ${kind === 'd' ? '-' : st.size} ${st.nlink}`);
    if (kind === 'd') lines.push(...tree(dir, p));
  }
  return lines;
}

const pythonBin = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

// mmap (shared, writable and read-only) and user xattrs, which Node has no API for.
const pythonPart = String.raw`
import errno, hashlib, json, mmap, os, sys
d = sys.argv[1]
out = {}
def ob(key, fn):
    try:
        v = fn()
        out[key] = 'ok' if v is None else v
    except OSError as e:
        out[key] = 'E:' + errno.errorcode.get(e.errno, str(e.errno))
p = os.path.join(d, 'mm.bin')
with open(p, 'wb') as f:
    f.write(bytes(range(256)) * 40)
def mm_write():
    with open(p, 'r+b') as f:
        m = mmap.mmap(f.fileno(), 0)
        m[0:5] = b'hello'
        m[4096:4101] = b'world'
        m[10235:10240] = b'tail!'
        m.flush()
        r = m[0:5].decode() + m[4096:4101].decode()
        m.close()
        return r
ob('mmapWrite', mm_write)
ob('afterMmap', lambda: hashlib.sha256(open(p, 'rb').read()).hexdigest())
def mm_read():
    with open(p, 'rb') as f:
        m = mmap.mmap(f.fileno(), 0, prot=mmap.PROT_READ)
        r = hashlib.sha256(m[:]).hexdigest()
        m.close()
        return r
ob('mmapRead', mm_read)
x = os.path.join(d, 'x.txt')
open(x, 'w').write('x')
ob('setxattr', lambda: os.setxattr(x, 'user.braid', b'value1'))
ob('setxattr2', lambda: os.setxattr(x, 'user.other', b''))
ob('getxattr', lambda: os.getxattr(x, 'user.braid').decode())
ob('getxattrEmpty', lambda: os.getxattr(x, 'user.other').decode())
ob('createExisting', lambda: os.setxattr(x, 'user.braid', b'v', os.XATTR_CREATE))
ob('replaceMissing', lambda: os.setxattr(x, 'user.none', b'v', os.XATTR_REPLACE))
ob('replace', lambda: os.setxattr(x, 'user.braid', b'value2' * 100, os.XATTR_REPLACE))
ob('getxattr2', lambda: hashlib.sha256(os.getxattr(x, 'user.braid')).hexdigest())
ob('listxattr', lambda: sorted(n for n in os.listxattr(x) if n.startswith('user.')))
ob('removexattr', lambda: os.removexattr(x, 'user.braid'))
ob('getRemoved', lambda: os.getxattr(x, 'user.braid'))
ob('listxattr2', lambda: sorted(n for n in os.listxattr(x) if n.startswith('user.')))
ob('symlinkXattr', lambda: os.getxattr(os.path.join(d, 'x.txt'), 'user.other', follow_symlinks=False).decode())
print(json.dumps(out))
`;

export function runWorkload(dir: string): Record<string, Observation> {
  const out: Record<string, Observation> = {};
  const P = (...p: string[]): string => join(dir, ...p);
  const body = 'hello world\n'.repeat(1000);

  observe(out, 'write', () => {
    writeFileSync(P('a.txt'), body);
    return hash(readFileSync(P('a.txt')));
  });
  observe(out, 'append', () => {
    appendFileSync(P('a.txt'), 'tail');
    appendFileSync(P('a.txt'), Buffer.alloc(70_000, 1));
    const b = readFileSync(P('a.txt'));
    return [b.length, hash(b)];
  });
  observe(out, 'truncateShrink', () => {
    truncateSync(P('a.txt'), 100);
    return readFileSync(P('a.txt'), 'utf8');
  });
  observe(out, 'truncateGrow', () => {
    truncateSync(P('a.txt'), 10_000);
    const b = readFileSync(P('a.txt'));
    return [statSync(P('a.txt')).size, hash(b)];
  });
  observe(out, 'pwriteSparse', () => {
    const fd = openSync(P('a.txt'), 'r+');
    try {
      writeSync(fd, 'far', 200_000);
    } finally {
      closeSync(fd);
    }
    const b = readFileSync(P('a.txt'));
    return [b.length, hash(b)];
  });
  observe(out, 'openTruncate', () => {
    writeFileSync(P('t.txt'), 'longer content');
    writeFileSync(P('t.txt'), 'short');
    return readFileSync(P('t.txt'), 'utf8');
  });
  observe(out, 'mkdir', () => {
    mkdirSync(P('dir', 'sub'), { recursive: true });
    for (let i = 0; i < 5; i++) writeFileSync(P('dir', `f${i}`), `file ${i}\n`);
    return readdirSync(P('dir')).sort();
  });
  observe(out, 'rename', () => {
    renameSync(P('a.txt'), P('dir', 'b.txt'));
    return [existsSync(P('a.txt')), hash(readFileSync(P('dir', 'b.txt')))];
  });
  observe(out, 'renameReplace', () => {
    renameSync(P('dir', 'f0'), P('dir', 'f1'));
    return [existsSync(P('dir', 'f0')), readFileSync(P('dir', 'f1'), 'utf8')];
  });
  observe(out, 'renameDir', () => {
    renameSync(P('dir'), P('dir2'));
    return [existsSync(P('dir')), readdirSync(P('dir2')).sort()];
  });
  observe(out, 'renameOntoNonEmptyDir', () => {
    mkdirSync(P('empty'));
    renameSync(P('empty'), P('dir2'));
    return 'renamed';
  });
  observe(out, 'symlink', () => {
    symlinkSync('dir2/f2', P('sl'));
    return [readlinkSync(P('sl')), readFileSync(P('sl'), 'utf8'), lstatSync(P('sl')).isSymbolicLink()];
  });
  observe(out, 'hardlink', () => {
    linkSync(P('dir2', 'f3'), P('hl'));
    writeFileSync(P('hl'), 'via the other name\n', { flag: 'a' });
    return [statSync(P('dir2', 'f3')).nlink, readFileSync(P('dir2', 'f3'), 'utf8')];
  });
  observe(out, 'chmod', () => {
    chmodSync(P('dir2', 'f4'), 0o4751);
    return (statSync(P('dir2', 'f4')).mode & 0o7777).toString(8);
  });
  observe(out, 'exclusiveCreate', () => {
    writeFileSync(P('dir2', 'f4'), 'x', { flag: 'wx' });
    return 'created';
  });
  observe(out, 'openMissing', () => readFileSync(P('nope')).length);
  observe(out, 'rmdirNotEmpty', () => {
    rmdirSync(P('dir2'));
    return 'removed';
  });
  observe(out, 'unlink', () => {
    unlinkSync(P('hl'));
    return [existsSync(P('hl')), statSync(P('dir2', 'f3')).nlink];
  });
  observe(out, 'rmdir', () => {
    rmdirSync(P('dir2', 'sub'));
    return existsSync(P('dir2', 'sub'));
  });
  observe(out, 'python', () => {
    const r = spawnSync(pythonBin, ['-c', pythonPart, dir], { encoding: 'utf8', timeout: 30_000 });
    if (r.status !== 0) return `python failed (${r.status}): ${r.stderr}`;
    return JSON.parse(r.stdout) as Observation;
  });
  observe(out, 'tree', () => tree(dir));
  return out;
}
