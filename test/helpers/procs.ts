// What tests ask /proc about a daemon and its mounts: which processes name a
// path on their command line, whether one still runs, and what is mounted
// below a directory (for teardown that must leave nothing behind).
import { readdirSync, readFileSync } from 'node:fs';

/** Pids of processes (not this one) with an argument that contains `needle`. */
export function pidsMentioning(needle: string): number[] {
  const pids: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0').some((a) => a.includes(needle))) pids.push(Number(name));
    } catch {
      // exited meanwhile
    }
  }
  return pids;
}

/** A process's command line, arguments joined by spaces ('' once it has exited). */
export function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
  } catch {
    return '';
  }
}

/** Running (a zombie counts as gone: whoever adopted the daemon reaps it). */
export function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.charAt(stat.lastIndexOf(')') + 2) !== 'Z';
  } catch {
    return false;
  }
}

/** A mountinfo path with its octal escapes (\040 for a space) undone. */
export const unescapeMountPath = (p: string): string => p.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));

/** Mountpoints at or below `dir`, deepest first (so nested mounts go before their parents). */
export function mountsUnder(dir: string): string[] {
  const out: string[] = [];
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const field = line.split(' ')[4];
    const mp = field === undefined ? undefined : unescapeMountPath(field);
    if (mp !== undefined && (mp === dir || mp.startsWith(`${dir}/`))) out.push(mp);
  }
  return out.sort((a, b) => b.length - a.length);
}
