// Which branches are slow: their syscalls go to the thread pool even when
// the others run inline (syscalls=auto), so a network filesystem that
// hangs, or a disk that has to spin up, stalls only the requests that touch
// it. Local SSDs, tmpfs and virtual disks stay inline, where a syscall
// costs microseconds and a thread hop costs more than the call.
import { readFileSync, realpathSync, statfsSync, statSync, existsSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/** statfs f_type of filesystems that can block for a long time (network, FUSE, cluster). */
const REMOTE_TYPES = new Map<number, string>([
  [0x6969, 'nfs'],
  [0x517b, 'smb'],
  [0xff534d42, 'cifs'],
  [0xfe534d42, 'smb2'],
  [0x65735546, 'fuse'],
  [0x01021997, '9p'],
  [0x00c36400, 'ceph'],
  [0x5346414f, 'afs'],
  [0x73757245, 'coda'],
  [0x564c, 'ncp'],
  [0x013111a8, 'ibrix'],
  [0x47504653, 'gpfs'],
  [0x0bd00bd0, 'lustre'],
]);

const devMajor = (dev: number): number => ((dev >>> 8) & 0xfff) | (Math.floor(dev / 2 ** 32) & ~0xfff);
const devMinor = (dev: number): number => (dev & 0xff) | ((dev >>> 12) & ~0xff);

/** The /sys/block entry of the disk holding `dev` (a partition's parent disk), if any. */
function diskDir(dev: number): string | undefined {
  try {
    let d = realpathSync(`/sys/dev/block/${devMajor(dev)}:${devMinor(dev)}`);
    if (!existsSync(join(d, 'queue')) && existsSync(join(dirname(d), 'queue'))) d = dirname(d);
    return existsSync(join(d, 'queue')) ? d : undefined;
  } catch {
    return undefined;
  }
}

/** Why a branch is slow ('nfs', 'spinning disk sda'), or undefined when it is fast enough to call inline. */
export function slowReason(root: string): string | undefined {
  try {
    const remote = REMOTE_TYPES.get(statfsSync(root).type);
    if (remote) return `${remote} filesystem`;
  } catch {
    return undefined;
  }
  const disk = diskDir(statSync(root).dev);
  if (!disk) return undefined;
  try {
    if (readFileSync(join(disk, 'queue', 'rotational'), 'utf8').trim() !== '1') return undefined;
    // Virtual disks (virtio) often claim to rotate; they do not go to sleep.
    const driver = existsSync(join(disk, 'device', 'driver')) ? basename(realpathSync(join(disk, 'device', 'driver'))) : '';
    if (driver.startsWith('virtio')) return undefined;
    return `spinning disk ${basename(disk)}`;
  } catch {
    return undefined;
  }
}
