// Walks a directory tree (normally a mounted overlay) into a plain object that
// two implementations can be compared on, and prints the differences between
// two such snapshots one line per path and field.
//
// What a snapshot holds, per path (relative, '' = the root), never following
// symlinks (lstat, readlink, readdir):
//   type, mode (permission bits incl. setuid/setgid/sticky, octal), uid, gid,
//   size and content hash (regular files), size (symlinks), target
//   (symlinks), rdev (devices), mtime in ns (not of directories unless asked,
//   see below), nlink (non-directories), `sameAs` (the first path, in sorted
//   order, with the same st_dev:st_ino, so hard-link groups are compared
//   without comparing inode numbers), and the user.* xattrs.
// Plus `probes`: lstat of names given by the caller (whiteouts, names hidden
// by whiteouts or opaque dirs), as a type or an errno code, so lookup by
// name is checked and not only readdir.
//
// Left out on purpose, because implementations differ by design:
//   - st_ino / st_dev: each implementation numbers its inodes its own way
//     (kernel: the real inode; fuse-overlayfs: its own table; braidfs:
//     inodecalc); only the hard-link grouping is compared (`sameAs`);
//   - directory st_size and st_nlink: they come from whichever layer's
//     directory is on top, or are synthesised (fuse-overlayfs), and mean
//     nothing portable;
//   - atime (reads change it, relatime makes it racy) and ctime (every
//     copy-up and chown sets it to "now");
//   - xattrs outside user.*: trusted.overlay.* / user.fuseoverlayfs.* are the
//     implementations' private bookkeeping and each hides its own.
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { lstatSync, readdirSync, readFileSync, readlinkSync, type BigIntStats } from 'node:fs';
import { join } from 'node:path';

export type EntryType = 'file' | 'dir' | 'symlink' | 'fifo' | 'chardev' | 'blockdev' | 'socket' | 'unknown';

export interface Entry {
  type: EntryType;
  mode: string;
  uid: number;
  gid: number;
  size?: number;
  sha256?: string;
  target?: string;
  rdev?: string;
  /** ns since the epoch, as a decimal string; see normalizeTimes for 'recent'. */
  mtime?: string;
  nlink?: number;
  sameAs?: string;
  xattrs?: Record<string, string>;
  /** Set only when readdir's d_type disagrees with lstat's type. */
  direntType?: string;
}

export interface Snapshot {
  entries: Record<string, Entry>;
  /** lstat of each probed path: its type, or the errno code. */
  probes: Record<string, string>;
}

export interface SnapshotOptions {
  /** Paths (relative) to lstat directly, whether or not readdir lists them. */
  probes?: readonly string[];
  /** Record directory mtimes as well (they are left out otherwise). */
  dirMtimes?: boolean;
}

function typeOf(st: Pick<BigIntStats, 'isFile' | 'isDirectory' | 'isSymbolicLink' | 'isFIFO' | 'isCharacterDevice' | 'isBlockDevice' | 'isSocket'>): EntryType {
  if (st.isFile()) return 'file';
  if (st.isDirectory()) return 'dir';
  if (st.isSymbolicLink()) return 'symlink';
  if (st.isFIFO()) return 'fifo';
  if (st.isCharacterDevice()) return 'chardev';
  if (st.isBlockDevice()) return 'blockdev';
  if (st.isSocket()) return 'socket';
  return 'unknown';
}

/** major:minor of a Linux dev_t (glibc's gnu_dev_major/minor). */
function devString(rdev: bigint): string {
  const major = ((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn);
  const minor = (rdev & 0xffn) | ((rdev >> 12n) & ~0xffn);
  return `${major}:${minor}`;
}

const errCode = (e: unknown): string => (e as NodeJS.ErrnoException).code ?? String(e);

/** user.* xattrs of every path below root that has any, keyed by relative path (getfattr, one process). */
function userXattrs(root: string): Map<string, Record<string, string>> {
  const r = spawnSync('getfattr', ['-R', '-P', '-h', '-d', '-m', '^user\\.', '-e', 'hex', '--absolute-names', root], { encoding: 'utf8' });
  if (r.error) throw r.error;
  const out = new Map<string, Record<string, string>>();
  let cur: Record<string, string> | undefined;
  for (const line of r.stdout.split('\n')) {
    if (line.startsWith('# file: ')) {
      // getfattr escapes odd bytes as \ooo; the fixture uses plain names only.
      const abs = line.slice('# file: '.length).replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
      const rel = abs === root ? '' : abs.startsWith(`${root}/`) ? abs.slice(root.length + 1) : abs;
      cur = {};
      out.set(rel, cur);
    } else if (cur !== undefined && line.includes('=')) {
      const i = line.indexOf('=');
      cur[line.slice(0, i)] = line.slice(i + 1);
    }
  }
  return out;
}

/** The snapshot of everything below root (root itself is ''). */
export function snapshot(root: string, opts: SnapshotOptions = {}): Snapshot {
  const entries: Record<string, Entry> = {};
  const inodes = new Map<string, string[]>();
  const visit = (rel: string, direntType: EntryType | undefined): void => {
    const abs = rel === '' ? root : join(root, rel);
    const st = lstatSync(abs, { bigint: true });
    const type = typeOf(st);
    const e: Entry = { type, mode: (Number(st.mode) & 0o7777).toString(8).padStart(4, '0'), uid: Number(st.uid), gid: Number(st.gid) };
    if (direntType !== undefined && direntType !== type) e.direntType = direntType;
    if (type !== 'dir') {
      e.size = Number(st.size);
      e.nlink = Number(st.nlink);
      const key = `${st.dev}:${st.ino}`;
      const group = inodes.get(key);
      if (group) group.push(rel);
      else inodes.set(key, [rel]);
    }
    if (type !== 'dir' || opts.dirMtimes) e.mtime = st.mtimeNs.toString();
    if (type === 'file') e.sha256 = createHash('sha256').update(readFileSync(abs)).digest('hex');
    if (type === 'symlink') e.target = readlinkSync(abs);
    if (type === 'chardev' || type === 'blockdev') e.rdev = devString(st.rdev);
    entries[rel] = e;
    if (type === 'dir') {
      const kids = readdirSync(abs, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      for (const d of kids) visit(rel === '' ? d.name : `${rel}/${d.name}`, typeOf(d));
    }
  };
  visit('', undefined);
  for (const group of inodes.values()) {
    if (group.length < 2) continue;
    group.sort();
    for (const p of group.slice(1)) entries[p]!.sameAs = group[0]!;
  }
  for (const [rel, x] of userXattrs(root)) {
    const e = entries[rel];
    if (e !== undefined) e.xattrs = x;
  }
  const probes: Record<string, string> = {};
  for (const p of opts.probes ?? []) {
    try {
      probes[p] = typeOf(lstatSync(join(root, p)));
    } catch (err) {
      probes[p] = errCode(err);
    }
  }
  return { entries, probes };
}

/**
 * A copy where every mtime at or after `since` (ns) reads 'recent'. The
 * fixture's own times are all years in the past, so 'recent' means "set by
 * an operation of this test run", which two implementations do at different
 * instants; older times must still match to the nanosecond (copy-up keeps
 * them).
 */
export function normalizeTimes(s: Snapshot, since: bigint): Snapshot {
  const entries: Record<string, Entry> = {};
  for (const [p, e] of Object.entries(s.entries)) {
    entries[p] = e.mtime !== undefined && BigInt(e.mtime) >= since ? { ...e, mtime: 'recent' } : { ...e };
  }
  return { entries, probes: { ...s.probes } };
}

/** A copy without the given fields on the given paths (documented exclusions only). */
export function omitFields(s: Snapshot, omit: Readonly<Record<string, readonly (keyof Entry)[]>>): Snapshot {
  const entries: Record<string, Entry> = {};
  for (const [p, e] of Object.entries(s.entries)) {
    const c: Entry = { ...e };
    for (const f of omit[p] ?? []) delete c[f];
    entries[p] = c;
  }
  return { entries, probes: { ...s.probes } };
}

const show = (v: unknown): string => (v === undefined ? '(none)' : JSON.stringify(v));

/** One line per difference: `path: field: A=… B=…`, or a path only one side has. */
export function diffSnapshots(a: Snapshot, b: Snapshot, nameA: string, nameB: string): string[] {
  const out: string[] = [];
  const paths = [...new Set([...Object.keys(a.entries), ...Object.keys(b.entries)])].sort();
  for (const p of paths) {
    const ea = a.entries[p];
    const eb = b.entries[p];
    const label = p === '' ? '/' : `/${p}`;
    if (ea === undefined || eb === undefined) {
      const [has, e] = ea === undefined ? [nameB, eb!] : [nameA, ea];
      out.push(`${label}: only ${has} has it (${e.type} ${e.mode} ${e.uid}:${e.gid}${e.target !== undefined ? ` -> ${e.target}` : ''})`);
      continue;
    }
    const fields = [...new Set([...Object.keys(ea), ...Object.keys(eb)])].sort() as (keyof Entry)[];
    for (const f of fields) {
      const va = ea[f];
      const vb = eb[f];
      if (JSON.stringify(va) !== JSON.stringify(vb)) out.push(`${label}: ${f}: ${nameA}=${show(va)} ${nameB}=${show(vb)}`);
    }
  }
  const probes = [...new Set([...Object.keys(a.probes), ...Object.keys(b.probes)])].sort();
  for (const p of probes) {
    if (a.probes[p] !== b.probes[p]) out.push(`lstat /${p}: ${nameA}=${show(a.probes[p])} ${nameB}=${show(b.probes[p])}`);
  }
  return out;
}
