// fuse-overlayfs's xattr_permissions (reference overlay.md §1.2): owner and
// mode live in an xattr instead of on disk, for rootless users who cannot
// chown. The value is `uid:gid:octalmode[:type]`; type is dir, file,
// symlink, pipe, socket, block-MAJ-MIN or char-MAJ-MIN. Mode 1 stores it in
// security.fuseoverlayfs.override_stat; mode 2 (what containers/storage's
// force_mask asks for) in user.containers.override_stat, also reading
// user.fuseoverlayfs.override_stat.
import * as sys from '../sys/fs.js';

const OVERRIDE_NAMES: readonly Buffer[] = ['security.fuseoverlayfs.override_stat', 'user.containers.override_stat', 'user.fuseoverlayfs.override_stat'].map((n) => Buffer.from(n));

/** An xattr_permissions value: private to the layers, yet carried along by copy-up. */
export function isOverrideStatName(name: Buffer): boolean {
  return OVERRIDE_NAMES.some((n) => n.equals(name));
}

export interface Override {
  uid: number;
  gid: number;
  /** Permission bits (07777). */
  perm: number;
  /** S_IFMT bits and rdev when the value names a type. */
  type?: { fmt: number; rdev: number };
}

const TYPES: Record<string, number> = { dir: sys.S_IFDIR, file: sys.S_IFREG, symlink: sys.S_IFLNK, pipe: 0o010000, socket: 0o140000 };

export function parseOverride(v: string): Override | undefined {
  const [u, g, m, type] = v.split(':');
  if (u === undefined || g === undefined || m === undefined) return undefined;
  const uid = Number(u);
  const gid = Number(g);
  const perm = parseInt(m, 8);
  if (!Number.isInteger(uid) || !Number.isInteger(gid) || Number.isNaN(perm)) return undefined;
  const o: Override = { uid, gid, perm: perm & 0o7777 };
  if (type !== undefined) {
    const dev = /^(block|char)-(\d+)-(\d+)$/.exec(type);
    if (dev) o.type = { fmt: dev[1] === 'block' ? 0o060000 : sys.S_IFCHR, rdev: (Number(dev[2]) << 8) | Number(dev[3]) };
    else if (TYPES[type] !== undefined) o.type = { fmt: TYPES[type], rdev: 0 };
  }
  return o;
}

export function formatOverride(o: Override): string {
  return `${o.uid}:${o.gid}:${o.perm.toString(8).padStart(4, '0')}`;
}

export class OverrideStat {
  private readonly readNames: Buffer[];
  private readonly writeName: Buffer;

  constructor(readonly level: 1 | 2) {
    const names = level === 1 ? ['security.fuseoverlayfs.override_stat'] : ['user.containers.override_stat', 'user.fuseoverlayfs.override_stat'];
    this.readNames = names.map((n) => Buffer.from(n));
    this.writeName = this.readNames[0]!;
  }

  /** Is this one of the names the override lives under (copy-up keeps them; clients cannot touch them)? */
  isOverrideName(name: Buffer): boolean {
    return this.readNames.some((n) => n.equals(name));
  }

  async read(dir: number, path: Buffer): Promise<Override | undefined> {
    for (const n of this.readNames) {
      try {
        const v = await sys.lgetxattr(dir, path, n, 256);
        if (typeof v !== 'number') return parseOverride(v.toString('latin1'));
      } catch {
        // absent here: try the next spelling
      }
    }
    return undefined;
  }

  async write(dir: number, path: Buffer, o: Override): Promise<void> {
    await sys.lsetxattr(dir, path, this.writeName, Buffer.from(formatOverride(o)), 0);
  }

  apply(st: sys.Stat, o: Override): sys.Stat {
    const fmt = o.type?.fmt ?? st.mode & sys.S_IFMT;
    return { ...st, uid: o.uid, gid: o.gid, mode: fmt | o.perm, rdev: o.type ? o.type.rdev : st.rdev };
  }

  /** The current owner and mode, from the xattr or else from disk. */
  async current(dir: number, path: Buffer): Promise<Override> {
    const o = await this.read(dir, path);
    if (o) return o;
    const st = await sys.lstat(dir, path);
    return { uid: st.uid, gid: st.gid, perm: st.mode & 0o7777 };
  }
}
