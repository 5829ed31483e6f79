// /proc/self/mountinfo, read without touching any mount (a stat of our own
// mountpoint would be a FUSE request to this very daemon).

export interface MountEntry {
  /** MAJ:MIN of the mounted filesystem (field 3). */
  dev: string;
  /** The mount point, its octal escapes (\040 for a space) undone. */
  mountpoint: string;
  /** The filesystem type (first field after the "-" separator), e.g. fuse.braidfs. */
  fstype: string;
}

/** Every entry of a mountinfo text, in its order (a later entry on the same mount point is mounted on top). */
export function mountEntries(mountinfo: string): MountEntry[] {
  const out: MountEntry[] = [];
  for (const line of mountinfo.split('\n')) {
    const f = line.split(' ');
    const sep = f.indexOf('-');
    if (sep < 0 || f[4] === undefined) continue;
    out.push({
      dev: f[2] ?? '',
      mountpoint: f[4].replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))),
      fstype: f[sep + 1] ?? '',
    });
  }
  return out;
}
