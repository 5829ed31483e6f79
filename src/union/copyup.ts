// Copy-up: the one engine that moves a file from a read-only layer (or RO
// branch) to a writable one before it changes, for overlay mode and for
// copy-on-write pools (issue 4 item 1; reference overlay.md §1.5, §5.3).
//
//  - The parent chain goes first, each directory cloned from the layer that
//    shows it (mode, owner, xattrs, times; never the layer-private xattrs).
//  - A regular file is built under a temp name in a scratch directory on the
//    target's filesystem (overlay: WORKDIR/work; pools: BRANCH/.braidfs-work),
//    data by FICLONE, else copy_file_range, else read/write, all off the JS
//    thread; then owner, mode, xattrs and atime/mtime exactly; then it is
//    renamed into place. Until that rename nothing shows under the real name,
//    so a crash leaves only scratch files, which the next mount deletes.
//  - Symlinks, fifos, sockets and devices are made in the scratch directory
//    too, with their owner and times (fuse-overlayfs loses a symlink's owner).
//  - One copy-up per path at a time: concurrent callers share the promise.
//  - The copy records its origin's st_dev/st_ino, so st_ino does not change
//    when a file is copied up (issue 4 item 6).
//  - Descriptors open on the lower file are untouched: it is only read.
import { randomBytes } from 'node:crypto';
import { Errno, FsError, knownErrno } from '../sys/errno.js';
import * as sys from '../sys/fs.js';
import type { Branch } from './branches.js';
import { atPath } from './pool.js';
import { copyXattrs, prefixes } from './clonepath.js';
import { copyData, copyMetadata, TEMP_PREFIX } from './copyfile.js';
import { isOverrideStatName } from './override-stat.js';
import { encodeOrigin, isPrivateXattr, ORIGIN_XATTR, type LayerHit, type Layers, type Origin } from './layers.js';

export interface CopyUpEnv {
  readonly layers: Layers;
  /** The writable branch a copy of something under `parentRel` goes to (the create policy's pick). */
  target(parentRel: Buffer): Promise<Branch>;
  /** A scratch directory fd on `b`'s filesystem, or undefined to build in the target directory itself. */
  scratch(b: Branch): number | undefined;
}

const tempName = (): Buffer => Buffer.from(`${TEMP_PREFIX}${randomBytes(8).toString('hex')}`);
/** Layer-private xattrs stay behind, except the xattr_permissions owner/mode, which belongs to the file. */
const notCopied = (name: Buffer): boolean => isPrivateXattr(name) && !isOverrideStatName(name);
const skipPrivate = { skipXattr: notCopied };

/** Runs `change` in directory `dir`, then puts the directory's atime/mtime back. */
async function keepingTimes(fd: number, dir: Buffer, change: () => Promise<void>): Promise<void> {
  const st = await sys.lstat(fd, dir);
  await change();
  await sys.lutimens(fd, dir, { sec: st.atimeSec, nsec: st.atimeNsec }, { sec: st.mtimeSec, nsec: st.mtimeNsec });
}

export class CopyUp {
  private readonly inflight = new Map<string, Promise<LayerHit>>();
  /** Copy-ups done, for stats and tests. */
  count = 0;

  constructor(private readonly env: CopyUpEnv) {}

  /**
   * Makes sure `rel` (merged path) is on a writable branch and returns that
   * copy. Throws ENOENT when it does not exist, EROFS when there is no
   * writable branch to copy to.
   */
  async ensure(rel: Buffer): Promise<LayerHit> {
    const hits = await this.env.layers.resolve(rel);
    const top = hits[0];
    if (!top) throw new FsError(Errno.ENOENT, 'copy-up', rel);
    if (this.env.layers.writable(top.branch)) return top;
    const key = rel.toString('latin1');
    let p = this.inflight.get(key);
    if (!p) {
      p = this.copy(rel).finally(() => this.inflight.delete(key));
      this.inflight.set(key, p);
    }
    return p;
  }

  private async copy(rel: Buffer): Promise<LayerHit> {
    // Someone may have copied it (or replaced it) since the caller looked.
    const hits = await this.env.layers.resolve(rel);
    const top = hits[0];
    if (!top) throw new FsError(Errno.ENOENT, 'copy-up', rel);
    if (this.env.layers.writable(top.branch)) return top;
    const parentRel = sys.dirPart(rel);
    const target = await this.env.target(parentRel);
    if (!this.env.layers.writable(target)) throw new FsError(Errno.EROFS, 'copy-up', rel);
    if (top.isDir) {
      await this.ensureDirChain(target, rel);
      return { branch: target, rel, isDir: true };
    }
    await this.ensureDirChain(target, parentRel);
    await this.copyNonDir(top, target, rel);
    this.count++;
    return { branch: target, rel, isDir: false };
  }

  /**
   * Makes every directory of `dirRel` exist on `target`, cloning each missing
   * one from the layer that shows it. Times go on deepest first, since
   * making a child changes its parent's mtime.
   */
  async ensureDirChain(target: Branch, dirRel: Buffer): Promise<void> {
    const made: Array<{ path: Buffer; st: sys.Stat }> = [];
    // The deepest directory that already existed gets a new entry: keep its times too.
    let existing: { path: Buffer; st: sys.Stat } | undefined;
    for (const p of prefixes(dirRel)) {
      const have = await sys.lstat(target.rootFd, p).catch((e: unknown) => {
        if (knownErrno(e) === Errno.ENOENT) return undefined;
        throw e;
      });
      if (have) {
        if (!sys.isDir(have.mode)) throw new FsError(Errno.ENOTDIR, 'copy-up', p);
        continue;
      }
      if (made.length === 0) {
        const parent = atPath(sys.dirPart(p));
        existing = { path: parent, st: await sys.lstat(target.rootFd, parent) };
      }
      const src = (await this.env.layers.resolve(p))[0];
      if (!src) throw new FsError(Errno.ENOENT, 'copy-up', p);
      if (!src.isDir) throw new FsError(Errno.ENOTDIR, 'copy-up', p);
      const st = await sys.lstat(src.branch.rootFd, atPath(src.rel));
      try {
        await sys.mkdir(target.rootFd, p, st.mode & 0o7777);
      } catch (e) {
        if (knownErrno(e) === Errno.EEXIST) continue;
        throw e;
      }
      await sys.lchown(target.rootFd, p, st.uid, st.gid);
      await sys.lchmod(target.rootFd, p, st.mode & 0o7777);
      await copyXattrs(src.branch.rootFd, atPath(src.rel), target.rootFd, p, skipPrivate);
      await this.recordOrigin(target.rootFd, p, await this.originFor(src, st));
      made.push({ path: p, st });
    }
    if (existing) made.unshift(existing);
    for (let i = made.length - 1; i >= 0; i--) {
      const { path, st } = made[i]!;
      await sys.lutimens(target.rootFd, path, { sec: st.atimeSec, nsec: st.atimeNsec }, { sec: st.mtimeSec, nsec: st.mtimeNsec });
    }
    if (made.length > 1) this.env.layers.invalidate();
  }

  /**
   * The origin a copy of `src` must carry: its own, if it is itself a copy,
   * else its dev/ino. None for a file with other names: the copy breaks the
   * link, and the names left below keep that inode number, so the copy needs
   * its own (as the kernel's overlayfs without index=on).
   */
  private async originFor(src: LayerHit, st: sys.Stat): Promise<Origin | undefined> {
    if (!sys.isDir(st.mode) && st.nlink > 1) return undefined;
    return (await this.env.layers.originOf(src.branch, { dir: src.branch.rootFd, path: atPath(src.rel) })) ?? { dev: st.dev, ino: st.ino };
  }

  private async recordOrigin(dir: number, path: Buffer, o: Origin | undefined): Promise<void> {
    if (o === undefined) return;
    const name = ORIGIN_XATTR[this.env.layers.options.xattrNamespace];
    await sys.lsetxattr(dir, path, Buffer.from(name), encodeOrigin(o), 0).catch(() => undefined);
  }

  private async copyNonDir(src: LayerHit, target: Branch, rel: Buffer): Promise<void> {
    const scratch = this.env.scratch(target);
    // Build in the scratch dir when there is one, else next to the final name.
    const buildDir = scratch ?? target.rootFd;
    const tmp = scratch !== undefined ? tempName() : sys.joinPath(sys.dirPart(rel), tempName());
    const st = await sys.lstat(src.branch.rootFd, atPath(src.rel));
    const origin = await this.originFor(src, st);
    try {
      if (sys.isReg(st.mode)) await this.buildFile(src, st, buildDir, tmp, origin);
      else await this.buildSpecial(src, st, buildDir, tmp);
      // A copy-up is not a change to the directory: its times stay (as the kernel does).
      await keepingTimes(target.rootFd, atPath(sys.dirPart(rel)), () => sys.rename2(buildDir, tmp, target.rootFd, rel, 0));
    } catch (e) {
      await sys.unlink(buildDir, tmp).catch(() => undefined);
      throw e;
    }
  }

  private async buildFile(src: LayerHit, st: sys.Stat, dir: number, tmp: Buffer, origin: Origin | undefined): Promise<void> {
    const from = await sys.open(src.branch.rootFd, atPath(src.rel), sys.O_RDONLY | sys.O_NOFOLLOW);
    try {
      const to = await sys.open(dir, tmp, sys.O_WRONLY | sys.O_CREAT | sys.O_EXCL | sys.O_NOFOLLOW, 0o600);
      try {
        await copyData(from, to, st.size);
        await copyMetadata(from, st, to, notCopied);
        await this.recordOrigin(to, sys.SELF, origin);
      } finally {
        sys.closeQuietly(to);
      }
    } finally {
      sys.closeQuietly(from);
    }
  }

  /** Symlinks, fifos, sockets, devices: made anew with the same owner, mode and times. */
  private async buildSpecial(src: LayerHit, st: sys.Stat, dir: number, tmp: Buffer): Promise<void> {
    const type = st.mode & sys.S_IFMT;
    if (type === sys.S_IFLNK) await sys.symlink(await sys.readlink(src.branch.rootFd, atPath(src.rel)), dir, tmp);
    else await sys.mknod(dir, tmp, st.mode, st.rdev);
    await sys.lchown(dir, tmp, st.uid, st.gid);
    if (type !== sys.S_IFLNK) {
      await sys.lchmod(dir, tmp, st.mode & 0o7777);
      await copyXattrs(src.branch.rootFd, atPath(src.rel), dir, tmp, skipPrivate);
      await this.recordOrigin(dir, tmp, await this.originFor(src, st));
    }
    await sys.lutimens(dir, tmp, { sec: st.atimeSec, nsec: st.atimeNsec }, { sec: st.mtimeSec, nsec: st.mtimeNsec });
  }
}
