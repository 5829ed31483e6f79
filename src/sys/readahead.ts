// readahead=KIB (mergerfs's option): the kernel's readahead of a device is a
// property of its backing_dev_info, set through
// /sys/class/bdi/MAJ:MIN/read_ahead_kb. Without passthrough a sequential read
// of the mount arrives as READs of up to twice the mount's readahead (and at
// most max_write), so its default (128 KiB) costs several requests per MiB.
//
// The mount's own device is read from /proc/self/mountinfo, never by stat of
// the mountpoint (see mountinfo.ts).
import { existsSync, readFileSync, realpathSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { mountEntries } from './mountinfo.js';

export interface ReadaheadTarget {
  /** What to call it in the log: "the mount" or a branch path. */
  what: string;
  /** MAJ:MIN of its device, or undefined when it could not be found. */
  dev: string | undefined;
}

/** MAJ:MIN of the filesystem mounted last (on top) at `mountpoint`. */
export function mountDevice(mountpoint: string, mountinfo = readFileSync('/proc/self/mountinfo', 'utf8')): string | undefined {
  return mountEntries(mountinfo).filter((e) => e.mountpoint === mountpoint).at(-1)?.dev;
}

/** MAJ:MIN of the device `path` lives on (Linux's dev_t encoding). */
export function pathDevice(path: string): string {
  const dev = statSync(path, { bigint: true }).dev;
  const major = ((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn);
  const minor = (dev & 0xffn) | ((dev >> 12n) & ~0xffn);
  return `${major}:${minor}`;
}

/**
 * The bdi directory of device `dev`. A partition has none of its own: its
 * disk's counts (sysfs puts the partition's directory inside the disk's).
 */
export function bdiDir(dev: string): string | undefined {
  const direct = join('/sys/class/bdi', dev);
  if (existsSync(direct)) return direct;
  const block = join('/sys/dev/block', dev);
  if (!existsSync(join(block, 'partition'))) return undefined;
  const parent = readFileSync(join(realpathSync(block), '..', 'dev'), 'utf8').trim();
  const viaDisk = join('/sys/class/bdi', parent);
  return existsSync(viaDisk) ? viaDisk : undefined;
}

export type ReadaheadResult = { what: string; bdi: string; ok: true } | { what: string; ok: false; why: string };

/** Sets `kib` on every target's device, each device once; never throws (the mount goes on either way). */
export function setReadahead(targets: readonly ReadaheadTarget[], kib: number): ReadaheadResult[] {
  const done = new Set<string>();
  const out: ReadaheadResult[] = [];
  for (const t of targets) {
    try {
      if (t.dev === undefined) throw new Error('its device was not found');
      const dir = bdiDir(t.dev);
      if (dir === undefined) throw new Error(`device ${t.dev} has no readahead (no backing device, e.g. tmpfs)`);
      const bdi = dir.slice(dir.lastIndexOf('/') + 1);
      if (!done.has(bdi)) writeFileSync(join(dir, 'read_ahead_kb'), String(kib));
      done.add(bdi);
      out.push({ what: t.what, bdi, ok: true });
    } catch (e) {
      const why = e instanceof Error ? ((e as NodeJS.ErrnoException).code ?? e.message) : String(e);
      out.push({ what: t.what, ok: false, why });
    }
  }
  return out;
}
