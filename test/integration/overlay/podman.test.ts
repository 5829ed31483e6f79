// podman with braidfs as the overlay driver's `mount_program`. The recipe
// (podman-recipe.sh, a verbatim copy of the one proven with fuse-overlayfs)
// builds a throw-away store under WORK, imports a busybox-static image,
// builds a layer with whiteouts, runs containers (--rm and detached), diffs,
// commits and mounts an image, all offline, and prints RECIPE-OK last.
//
// The same recipe with fuse-overlayfs as the mount program is the control: if
// it fails too, the machine (podman, runc, limits) is broken, not braidfs.
//
// podman, runc and a static busybox are required, not optional: CI installs
// them (.ci/run), so a missing one fails the test with the fix in the message.
import test, { type ExecutionContext } from 'ava';
import { spawn, spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { braidfsBin, repoRoot } from '../../helpers/mount.js';
import { pidAlive, sleep } from '../util.js';
import { mountsUnder, pidsMentioning } from '../../helpers/procs.js';

const recipe = join(repoRoot, 'test', 'integration', 'overlay', 'podman-recipe.sh');
const fuseOverlayfs = '/usr/bin/fuse-overlayfs';
const LOG_HEADER = '--- command lines passed to the mount program:';
const INSTALL_HINT = 'apt-get install -y podman runc busybox-static fuse3 fuse-overlayfs (as .ci/run does)';

interface RecipeResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  ms: number;
}

/** Runs `bash script` in its own process group; on timeout the whole group is killed. Never rejects. */
function runGroup(args: readonly string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<RecipeResult> {
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn('bash', args, { stdio: ['ignore', 'pipe', 'pipe'], env, detached: true });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    let settled = false;
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (d: string) => (stdout += d));
    child.stderr.on('data', (d: string) => (stderr += d));
    const killGroup = (): void => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      } catch {
        // the group is gone already
      }
    };
    const finish = (code: number | null, signal: NodeJS.Signals | null, extra = ''): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      clearTimeout(grace);
      child.stdout.destroy();
      child.stderr.destroy();
      resolve({ code, signal, stdout, stderr: stderr + extra, timedOut, ms: Date.now() - started });
    };
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup();
    }, timeoutMs);
    let grace: NodeJS.Timeout | undefined;
    child.on('error', (e) => finish(null, null, String(e)));
    // A daemon that kept the recipe's stdout/stderr open must not hang the test.
    child.on('exit', (code, signal) => {
      grace = setTimeout(() => finish(code, signal, '\n[test: the recipe exited, but something it started held its stdout/stderr open for 5 s]'), 5000);
    });
    child.on('close', (code, signal) => finish(code, signal));
  });
}

function have(cmd: string): boolean {
  return spawnSync('bash', ['-c', 'command -v "$1"', 'bash', cmd], { stdio: 'ignore' }).status === 0;
}

/** Everything the recipe needs that is not part of braidfs; a readable reason when something is missing. */
function missingPrerequisites(mountProgram: string): string[] {
  const missing: string[] = [];
  for (const cmd of ['podman', 'runc', 'busybox']) if (!have(cmd)) missing.push(`${cmd} is not installed`);
  if (have('busybox')) {
    // The image's rootfs is the host's busybox binary alone: a dynamic one cannot run in it.
    const bb = spawnSync('bash', ['-c', 'ldd "$(command -v busybox)"'], { encoding: 'utf8' });
    if (bb.status === 0 && !/not a dynamic executable|statically linked/.test(bb.stdout + bb.stderr)) {
      missing.push('busybox is dynamically linked (the package busybox-static is needed instead of busybox)');
    }
  }
  try {
    accessSync(mountProgram, constants.X_OK);
  } catch {
    missing.push(`mount program ${mountProgram} is missing or not executable`);
  }
  try {
    accessSync(recipe, constants.R_OK);
  } catch {
    missing.push(`recipe ${recipe} is missing`);
  }
  return missing;
}

/** The recipe's own log of mount-program command lines (after LOG_HEADER, before RECIPE-OK). */
function mountProgramLog(stdout: string): string[] {
  const at = stdout.lastIndexOf(LOG_HEADER);
  if (at < 0) return [];
  return stdout
    .slice(at + LOG_HEADER.length)
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && l !== 'RECIPE-OK');
}

const tail = (s: string, n = 60): string => s.trimEnd().split('\n').slice(-n).join('\n');

/**
 * Cleanup that works whatever state the recipe died in: podman's own cleanup
 * (only with WORK's config files, never the host's default store), lazy
 * unmount of everything under WORK, then any mount-program daemon (or conmon,
 * container process) still naming WORK, then WORK itself.
 */
async function cleanup(work: string): Promise<void> {
  const storageConf = join(work, 'storage.conf');
  const containersConf = join(work, 'containers.conf');
  if (existsSync(storageConf) && existsSync(containersConf)) {
    const env = { ...process.env, CONTAINERS_STORAGE_CONF: storageConf, CONTAINERS_CONF: containersConf };
    for (const args of [
      ['rm', '-af', '-t', '0'],
      ['rmi', '-af'],
      ['system', 'reset', '-f'],
    ]) {
      spawnSync('timeout', ['-k', '5', '60', 'podman', ...args], { env, stdio: 'ignore' });
    }
  }
  for (const mp of mountsUnder(work)) spawnSync('umount', ['-l', mp], { stdio: 'ignore' });
  // A detached daemon exits by itself once its mount is gone; give it a moment, then SIGKILL.
  let pids = pidsMentioning(work);
  for (let i = 0; i < 20 && pids.some(pidAlive); i++) {
    if (i === 0) for (const pid of pids) killQuietly(pid, 'SIGTERM');
    await sleep(100);
    pids = pidsMentioning(work);
  }
  for (const pid of pids) killQuietly(pid, 'SIGKILL');
  for (const mp of mountsUnder(work)) spawnSync('umount', ['-l', mp], { stdio: 'ignore' });
  rmSync(work, { recursive: true, force: true });
}

function killQuietly(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // gone already
  }
}

async function podmanRecipe(t: ExecutionContext, mountProgram: string): Promise<void> {
  t.timeout(10 * 60_000);
  const missing = missingPrerequisites(mountProgram);
  if (missing.length) {
    t.fail(`cannot run the podman recipe: ${missing.join('; ')}.\nInstall: ${INSTALL_HINT}`);
    return;
  }
  const work = mkdtempSync('/tmp/braidfs-podman-');
  t.teardown(() => cleanup(work));
  const env: NodeJS.ProcessEnv = { ...process.env, MOUNT_PROGRAM: mountProgram, WORK: work, KEEP: '0' };
  const r = await runGroup([recipe], env, 8 * 60_000);
  // The recipe deletes WORK when it succeeds; on failure, its log of mount-program calls is the best clue.
  const wrapperLog = existsSync(join(work, 'mount-program.log')) ? readFileSync(join(work, 'mount-program.log'), 'utf8') : '';
  const report = [
    `mount program: ${mountProgram}`,
    `recipe: exit ${r.code ?? r.signal}${r.timedOut ? ' (TIMED OUT, process group killed)' : ''} after ${(r.ms / 1000).toFixed(1)} s`,
    `--- stdout (tail):\n${tail(r.stdout)}`,
    `--- stderr (tail):\n${tail(r.stderr)}`,
    ...(wrapperLog ? [`--- ${join(work, 'mount-program.log')}:\n${tail(wrapperLog, 20)}`] : []),
  ].join('\n');
  t.log(`recipe with ${mountProgram}: exit ${r.code ?? r.signal} in ${(r.ms / 1000).toFixed(1)} s`);

  t.false(r.timedOut, report);
  t.is(r.code, 0, report);
  const lines = r.stdout.trimEnd().split('\n');
  t.is(lines[lines.length - 1], 'RECIPE-OK', report);

  const calls = mountProgramLog(r.stdout);
  t.true(calls.length > 0, `no "${LOG_HEADER}" section in the recipe's output\n${report}`);
  // podman info asks for the version; every mount passes lowerdir=; container mounts add upperdir and workdir.
  t.true(
    calls.some((l) => / argv: --version$/.test(l)),
    `the mount program was never asked for --version:\n${calls.join('\n')}`,
  );
  const mounts = calls.filter((l) => / argv: -o lowerdir=\S+ \/\S+$/.test(l));
  t.true(mounts.length > 0, `the mount program was never called with -o lowerdir=... MOUNTPOINT:\n${calls.join('\n')}`);
  t.true(
    mounts.some((l) => /,upperdir=\S+,workdir=\S+/.test(l)),
    `no read-write mount (upperdir=, workdir=) was passed to the mount program:\n${calls.join('\n')}`,
  );
  t.true(
    mounts.every((l) => l.includes(work)),
    `a mount outside WORK was passed to the mount program:\n${calls.join('\n')}`,
  );
}

test.serial('control: the podman recipe passes with fuse-overlayfs as mount_program', async (t) => {
  await podmanRecipe(t, fuseOverlayfs);
});

test.serial('podman runs containers with braidfs as the overlay mount_program', async (t) => {
  await podmanRecipe(t, braidfsBin);
});
