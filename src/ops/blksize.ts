// The st_blksize a directory is shown with: sized to its listing.
//
// glibc's opendir sizes the buffer readdir hands to getdents from the
// directory's st_blksize (at least 32 KiB, at most 1 MiB), and the kernel's
// FUSE client asks for a READDIR or READDIRPLUS batch that size (up to
// max_pages). With the branch's own 4 KiB every batch is 32 KiB: about 200
// names with attributes, so in a directory of 1,000 files `du` or `ls -l`
// got attributes for the first 200 and then paid a LOOKUP round trip for each
// of the other 800 (the kernel asks for attributes with later batches only if
// children were looked up between batches, and those readers list first, stat
// after), and `ls -f` of 50,000 names took 50 round trips. Shown bigger, a
// directory of a few thousand names is listed, attributes included, in one
// batch. For files st_blksize stays the branch's (it is their I/O size).
//
// On-disk directory size is a fair measure of the listing: ext4 takes about
// 36 bytes per short name, tmpfs 20, btrfs twice the names' length; a
// READDIRPLUS record is about 160 bytes. 8 x the size, to a power of two
// (the kernel keeps log2 of it), kept between glibc's 32 KiB (a one-block
// directory is listed as before) and 1 MiB. addon.c shown_blksize is the
// same rule for the attributes the addon writes.
import { isDir } from '../sys/fs.js';

const MIN = 32 * 1024;
const MAX = 1024 * 1024;
const PER_BYTE = 8;

export function shownBlksize(mode: number, size: number, blksize: number): number {
  if (!isDir(mode)) return blksize;
  let b = MIN;
  while (b < MAX && b < PER_BYTE * size) b *= 2;
  return b;
}
