// Runs INSIDE `unshare -Urmp --fork --kill-child --mount-proc` (see
// userns.test.ts); not a test file itself.
//   node userns-driver.js <source>
// Mounts braidfs (foreground) on a fresh mountpoint, runs the workload on the
// mount and on a plain directory, unmounts, and prints one line
// `USERNS-RESULT <json>`. Whatever happens, the daemon is killed before the
// driver exits (and, as the driver is PID 1 of its pid namespace, the kernel
// kills everything left in it when the driver dies).
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { braidfsBin, isMounted } from '../helpers/mount.js';
import { runWorkload, type Observation } from './workload.js';

export interface UsernsResult {
  stage: string;
  uidMap: string;
  mounted: boolean;
  fstype: string;
  mount: Record<string, Observation> | null;
  plain: Record<string, Observation> | null;
  sourceTree: Observation;
  plainTree: Observation;
  umountStatus: number | null;
  umountStderr: string;
  stillMounted: boolean;
  daemonExit: { code: number | null; signal: string | null } | null;
  log: string;
  error: string | null;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function fstypeOf(dir: string): string {
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const f = line.split(' ');
    const sep = f.indexOf('-');
    if (sep > 0 && f[4] === dir) return f[sep + 1] ?? '';
  }
  return '';
}

async function main(): Promise<UsernsResult> {
  const source = process.argv[2];
  if (!source) throw new Error('usage: userns-driver <source>');
  const mnt = mkdtempSync(join(tmpdir(), 'braidfs-userns-mnt-'));
  const plain = mkdtempSync(join(tmpdir(), 'braidfs-userns-plain-'));
  const res: UsernsResult = {
    stage: 'spawn',
    uidMap: readFileSync('/proc/self/uid_map', 'utf8').trim().replace(/\s+/g, ' '),
    mounted: false,
    fstype: '',
    mount: null,
    plain: null,
    sourceTree: null,
    plainTree: null,
    umountStatus: null,
    umountStderr: '',
    stillMounted: false,
    daemonExit: null,
    log: '',
    error: null,
  };
  const child = spawn(braidfsBin, ['-f', source, mnt], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (log += d));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const alive = (): boolean => child.exitCode === null && child.signalCode === null;
  try {
    res.stage = 'mount';
    const deadline = Date.now() + 20_000;
    while (!isMounted(mnt)) {
      if (!alive()) throw new Error(`braidfs exited before mounting (code ${child.exitCode}, signal ${child.signalCode})`);
      if (Date.now() > deadline) throw new Error('braidfs did not mount within 20 s');
      await sleep(20);
    }
    res.mounted = true;
    res.fstype = fstypeOf(mnt);

    res.stage = 'workload';
    res.mount = runWorkload(mnt);
    res.plain = runWorkload(plain);
    res.sourceTree = listSource(source);
    res.plainTree = listSource(plain);

    res.stage = 'umount';
    const u = spawnSync('umount', [mnt], { encoding: 'utf8', timeout: 20_000 });
    res.umountStatus = u.status;
    res.umountStderr = u.stderr;
    res.stillMounted = isMounted(mnt);
    await Promise.race([exited, sleep(10_000)]);
    res.stage = 'done';
  } catch (e) {
    res.error = e instanceof Error ? e.message : String(e);
  } finally {
    if (alive()) {
      child.kill('SIGKILL');
      await Promise.race([exited, sleep(3000)]);
    }
    if (isMounted(mnt)) spawnSync('umount', ['-l', mnt]);
    if (!isMounted(mnt)) for (const d of [mnt, plain]) rmSync(d, { recursive: true, force: true });
    res.daemonExit = alive() ? null : { code: child.exitCode, signal: child.signalCode };
    res.log = log;
  }
  return res;
}

/** What landed in the source directory, for comparison with the mount's view. */
function listSource(dir: string): Observation {
  const r = spawnSync('find', [dir, '-mindepth', '1', '-printf', '%P %y %m\\n'], { encoding: 'utf8' });
  return r.stdout.split('\n').filter(Boolean).sort();
}

main().then(
  (res) => {
    process.stdout.write(`USERNS-RESULT ${JSON.stringify(res)}\n`);
    process.exit(0);
  },
  (e: unknown) => {
    process.stdout.write(`USERNS-RESULT ${JSON.stringify({ stage: 'driver', error: String(e) })}\n`);
    process.exit(1);
  },
);
