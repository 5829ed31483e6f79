// Mounting and unmounting: mount(2) directly when privileged (root, or root
// of a user namespace), else through the setuid fusermount3 helper.
import { spawnSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { native } from '../native/index.js';
import { Errno, errnoName, FsError } from '../sys/errno.js';

export const MS_RDONLY = 1;
export const MS_NOSUID = 2;
export const MS_NODEV = 4;
export const MS_NOEXEC = 8;
export const MS_NOATIME = 1024;
const MNT_DETACH = 2;

export interface MountSpec {
  mountpoint: string;
  /** Shown as the "device" in /proc/mounts. */
  fsname: string;
  subtype: string;
  flags: number;
  allowOther: boolean;
  maxRead: number;
}

export interface Mounted {
  fd: number;
  via: 'mount(2)' | 'fusermount3';
}

/** Direct mount(2); returns -errno instead of throwing so the caller can fall back. */
function mountDirect(spec: MountSpec, rootmode: string): Mounted | number {
  const fd = native.devOpen();
  if (fd < 0) return fd;
  const uid = process.getuid?.() ?? 0;
  const gid = process.getgid?.() ?? 0;
  const opts = [`fd=${fd}`, `rootmode=${rootmode}`, `user_id=${uid}`, `group_id=${gid}`, 'default_permissions'];
  if (spec.allowOther) opts.push('allow_other');
  opts.push(`max_read=${spec.maxRead}`);
  const r = native.mount(spec.fsname, spec.mountpoint, `fuse.${spec.subtype}`, spec.flags, opts.join(','));
  if (r === 0) return { fd, via: 'mount(2)' };
  native.close(fd);
  return r;
}

/** Mounts through the setuid fusermount3 helper, which hands back the fd. */
function mountHelper(spec: MountSpec): Mounted | number {
  const fm = ['default_permissions', `fsname=${spec.fsname.replace(/,/g, '\\,')}`, `subtype=${spec.subtype}`, `max_read=${spec.maxRead}`];
  if (spec.allowOther) fm.push('allow_other');
  if (spec.flags & MS_RDONLY) fm.push('ro');
  if (spec.flags & MS_NOATIME) fm.push('noatime');
  if (spec.flags & MS_NOEXEC) fm.push('noexec');
  const fd = native.fusermount(spec.mountpoint, fm.join(','));
  return fd < 0 ? fd : { fd, via: 'fusermount3' };
}

export function mount(spec: MountSpec): Mounted {
  const st = statSync(spec.mountpoint);
  const rootmode = (st.mode & 0o170000).toString(8);
  const direct = mountDirect(spec, rootmode);
  if (typeof direct !== 'number') return direct;
  const errno = -direct;
  if (errno === Errno.ENOENT || errno === Errno.ENODEV || errno === Errno.ENXIO) throw new FsError(errno, 'open /dev/fuse (is the fuse module loaded?)');
  // Not privileged (no access to /dev/fuse, or mount(2) refused): let the
  // setuid helper mount and hand us the fd.
  if (errno !== Errno.EPERM && errno !== Errno.EACCES) throw new FsError(errno, 'mount', spec.mountpoint);
  const helped = mountHelper(spec);
  if (typeof helped === 'number') throw new FsError(Errno.EPERM, `mount via fusermount3 (${errnoName(-helped)})`, spec.mountpoint);
  return helped;
}

/** Unmounts; a busy mount is detached lazily so the daemon can still exit. */
export function unmount(mountpoint: string, via: Mounted['via']): number {
  if (via === 'fusermount3') {
    // Only the helper may unmount what it mounted for an unprivileged user.
    const r = spawnSync('fusermount3', ['-u', '-z', mountpoint], { stdio: 'ignore' });
    return r.status === 0 ? 0 : -Errno.EPERM;
  }
  let r = native.umount2(mountpoint, 0);
  if (r === -Errno.EBUSY) r = native.umount2(mountpoint, MNT_DETACH);
  return r;
}
