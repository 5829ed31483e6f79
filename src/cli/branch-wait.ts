// branches-mount-timeout (mergerfs config/branches-mount-timeout.md): at boot
// a pool may be mounted before its disks are. Wait up to the timeout for
// every branch to be "mounted": a branch marked with the file
// `.braidfs.branch` (or `.mergerfs.branch`) is; one marked
// `.braidfs.branch_mounts_here` (or the mergerfs name) is not yet; otherwise
// it is mounted when it is on another filesystem than the mountpoint.
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../sys/log.js';

const MOUNTED = ['.braidfs.branch', '.mergerfs.branch'];
const NOT_YET = ['.braidfs.branch_mounts_here', '.mergerfs.branch_mounts_here'];

export function branchMounted(branch: string, mountpoint: string): boolean {
  try {
    if (MOUNTED.some((m) => existsSync(join(branch, m)))) return true;
    if (NOT_YET.some((m) => existsSync(join(branch, m)))) return false;
    return statSync(branch).dev !== statSync(mountpoint).dev;
  } catch {
    return false;
  }
}

/** Resolves with the branches still not mounted when the time ran out (empty: all there). */
export async function waitForBranches(branches: readonly string[], mountpoint: string, timeoutS: number, log: Logger): Promise<string[]> {
  const deadline = Date.now() + timeoutS * 1000;
  let missing = branches.filter((b) => !branchMounted(b, mountpoint));
  if (missing.length) log.info(`waiting up to ${timeoutS}s for branches to be mounted: ${missing.join(', ')}`);
  while (missing.length && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 250));
    missing = missing.filter((b) => !branchMounted(b, mountpoint));
  }
  return missing;
}
