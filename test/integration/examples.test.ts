// Every file in examples/ is exercised here (examples/README.md says how):
//
// - pool-demo.sh (the README's quick start) must pool two branches, show where
//   a new file landed (clonepath made music/ on the first branch), and leave a
//   mount that `umount` ends;
// - overlay-demo.sh must show a copy-up and a whiteout, and leave nothing
//   mounted or running behind;
// - fstab, mnt-pool.mount and braidfs-pool.service are mounted as written,
//   with /mnt/disk* and /mnt/pool moved onto tmpfs disks in a temp dir and
//   minfreespace=20G lowered to 1M. systemd is not PID 1 here, so the units'
//   content is run the way systemd would: the .mount's What/Where/Type/Options
//   as `mount -t`, the .service's ExecStart (in the background, it is `-f`)
//   then its ExecStop; `systemd-analyze verify` checks the unit files;
// - podman-storage.conf must be read by podman (podman info on a temp store);
// - braidfs.conf (generated; test/unit/docs.test.ts checks its content) must
//   mount as written with -o config=.
//
// fstab, `mount -t fuse.braidfs` and ExecStart=/usr/local/bin/braidfs need
// this checkout installed: as in fstab.test.ts, scripts/install.sh runs first
// (only where nothing else is installed) and is undone at the end.
import test, { type ExecutionContext } from 'ava';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { braidfsBin, forceUnmount, isMounted, makeTempDir, repoRoot, withMount } from '../helpers/mount.js';
import { run, sleep, waitFor, type RunResult } from './util.js';
import { ACQUIRE, RELEASE, installStep } from '../helpers/system-install.js';
import { mountsUnder, pidsMentioning, running } from '../helpers/procs.js';

const examples = join(repoRoot, 'examples');
const show = (r: RunResult): string => `exit ${r.code ?? r.signal}${r.timedOut ? ' (timed out)' : ''}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`;

// ---- installing this checkout: test/helpers/system-install.ts ----------------

let installed: { ok: boolean; message: string } | undefined;
/** Installs on first use; throws (failing the test) if another braidfs is installed. */
function needInstall(): void {
  installed ??= installStep(ACQUIRE);
  if (!installed.ok) {
    throw new Error(
      `cannot install this checkout (scripts/install.sh): ${installed.message}. ` +
        'The tests install only where /usr/local/bin/braidfs and /sbin/mount.braidfs are absent or already link into this checkout.',
    );
  }
}

test.after.always(() => {
  if (installed === undefined) return;
  const r = installStep(RELEASE);
  if (!r.ok) console.error(`examples tests: scripts/install.sh --uninstall failed: ${r.message}`);
});

// ---- /mnt/disk1..3 and /mnt/pool on tmpfs disks in a temp dir ---------------------

interface Disks {
  base: string;
  /** disk1..disk3, 16M, 24M and 8M: mfs picks disk2. */
  disks: string[];
  pool: string;
}

function makeDisks(t: ExecutionContext): Disks {
  const base = mkdtempSync(join(tmpdir(), 'braidfs-examples-'));
  const fx: Disks = { base, disks: [16, 24, 8].map((_, i) => join(base, `disk${i + 1}`)), pool: join(base, 'pool') };
  mkdirSync(fx.pool);
  t.teardown(() => teardownDisks(fx));
  [16, 24, 8].forEach((size, i) => {
    const d = fx.disks[i]!;
    mkdirSync(d);
    const r = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${size}m`, 'tmpfs', d], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`mount -t tmpfs ${d}: ${r.stderr}`);
    mkdirSync(join(d, 'movies'));
    writeFileSync(join(d, 'movies', `film${i + 1}.mkv`), `film ${i + 1}\n`);
  });
  return fx;
}

/** The example's /mnt paths moved into the temp dir, and its 20G minfreespace lowered for small disks. */
function localize(text: string, fx: Disks): string {
  return text.replaceAll('/mnt/disk', join(fx.base, 'disk')).replaceAll('/mnt/pool', fx.pool).replaceAll('minfreespace=20G', 'minfreespace=1M');
}

/**
 * umount, then umount -l, then SIGKILL of whatever names `owner` (the daemon,
 * or a mount helper that never returned). Every command has a time limit and
 * nothing touches a file below the mount, so a hung daemon cannot hang this.
 */
async function unmountHard(mountpoint: string, owner: string): Promise<void> {
  const pids = pidsMentioning(owner);
  if (isMounted(mountpoint)) await run('umount', [mountpoint], { timeoutMs: 5000 });
  if (isMounted(mountpoint)) await run('umount', ['-l', mountpoint], { timeoutMs: 5000 });
  await waitFor(() => !pids.some(running), 1000);
  for (const pid of pidsMentioning(owner)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone already
    }
  }
}

/** The pool as unmountHard leaves it, then the disks, then the temp dir. */
async function teardownDisks(fx: Disks): Promise<void> {
  await unmountHard(fx.pool, fx.base);
  for (const mp of mountsUnder(fx.base)) {
    if ((await run('umount', [mp], { timeoutMs: 5000 })).code !== 0) await run('umount', ['-l', mp], { timeoutMs: 5000 });
  }
  if (mountsUnder(fx.base).length === 0) rmSync(fx.base, { recursive: true, force: true });
}

/** The pool shows every disk's files and mfs puts a new file on disk2, the emptiest. */
async function checkUnion(t: ExecutionContext, fx: Disks): Promise<void> {
  t.true(isMounted(fx.pool), `${fx.pool} is not mounted`);
  // fs/promises below the mount: a daemon that stops answering must not block the event loop (and the timeout).
  t.deepEqual((await readdir(join(fx.pool, 'movies'))).sort(), ['film1.mkv', 'film2.mkv', 'film3.mkv']);
  await writeFile(join(fx.pool, 'movies', 'new.mkv'), 'new\n');
  t.deepEqual(
    fx.disks.filter((d) => existsSync(join(d, 'movies', 'new.mkv'))).map((d) => basename(d)),
    ['disk2'],
    'category.create=mfs puts a new file on the disk with the most free space',
  );
  await rm(join(fx.pool, 'movies', 'new.mkv'));
}

/** `umount POOL` (or the given command) succeeds and ends the mount and its daemon. */
async function unmountAndCheck(t: ExecutionContext, fx: Disks, cmd: string[] = ['umount', fx.pool]): Promise<void> {
  const daemons = pidsMentioning(fx.pool);
  const u = await run(cmd[0]!, cmd.slice(1), { timeoutMs: 10_000 });
  t.is(u.code, 0, `${cmd.join(' ')}: ${show(u)}`);
  t.false(isMounted(fx.pool), 'still mounted');
  t.true(await waitFor(() => !daemons.some(running), 5000), 'the daemon is still running 5 s after the unmount');
}

/** Sections of a systemd unit file: key → values, in order. */
function parseUnit(text: string): Map<string, Map<string, string[]>> {
  const sections = new Map<string, Map<string, string[]>>();
  let current: Map<string, string[]> | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const header = /^\[(.+)\]$/.exec(line);
    if (header) {
      current = new Map();
      sections.set(header[1]!, current);
      continue;
    }
    const eq = line.indexOf('=');
    if (eq < 0 || !current) throw new Error(`not a unit file line: ${line}`);
    const key = line.slice(0, eq).trim();
    current.set(key, [...(current.get(key) ?? []), line.slice(eq + 1).trim()]);
  }
  return sections;
}

function unitValue(unit: Map<string, Map<string, string[]>>, section: string, key: string): string {
  const v = unit.get(section)?.get(key);
  if (v?.length !== 1) throw new Error(`[${section}] ${key}= appears ${v?.length ?? 0} times, expected once`);
  return v[0]!;
}

/** `systemd-analyze verify` on the example unit (it checks names, keys, executables and man pages). */
async function verifyUnit(t: ExecutionContext, file: string): Promise<void> {
  if (spawnSync('sh', ['-c', 'command -v systemd-analyze'], { stdio: 'ignore' }).status !== 0) {
    t.log('systemd-analyze is not installed: the unit file was not verified');
    return;
  }
  const r = await run('systemd-analyze', ['verify', file], { timeoutMs: 20_000 });
  t.is(r.code, 0, `systemd-analyze verify ${file}: ${show(r)}`);
  t.notRegex(r.stderr, new RegExp(basename(file).replace('.', '\\.')), `systemd-analyze verify ${file} complained`);
}

// ---- the tests ------------------------------------------------------------------

test('examples/pool-demo.sh pools two branches, shows where a file landed, and umount ends it', async (t) => {
  const demo = makeTempDir('braidfs-demo-');
  const mnt = join(demo, 'pool');
  t.teardown(async () => {
    await forceUnmount(mnt);
    rmSync(demo, { recursive: true, force: true });
  });
  const r = await run(join(repoRoot, 'examples', 'pool-demo.sh'), [], { env: { ...process.env, BRAIDFS_DEMO: demo }, timeoutMs: 30_000 });
  t.is(r.code, 0, r.stderr);
  t.true(isMounted(mnt));
  t.regex(r.stdout, /hello\.txt/);
  t.regex(r.stdout, /song\.txt/);
  // ff puts it on disk1, which gets music/ cloned from disk2.
  t.true(existsSync(join(demo, 'disk1', 'music', 'new.txt')));
  t.regex(r.stdout, new RegExp(`${join(demo, 'disk1', 'music', 'new.txt')}`));
  t.regex(r.stdout, /unmount with: umount /);
  const u = await run('umount', [mnt]);
  t.is(u.code, 0, u.stderr);
  t.false(isMounted(mnt));
});

test('examples/overlay-demo.sh shows a copy-up and a whiteout, then unmounts and cleans up', async (t) => {
  t.timeout(60_000);
  const demo = makeTempDir('braidfs-ovldemo-');
  const mnt = join(demo, 'merged');
  t.teardown(async () => {
    await unmountHard(mnt, demo);
    if (!isMounted(mnt)) rmSync(demo, { recursive: true, force: true });
  });
  const r = await run(join(examples, 'overlay-demo.sh'), [], { env: { ...process.env, BRAIDFS_DEMO: demo }, timeoutMs: 30_000 });
  t.is(r.code, 0, show(r));
  t.regex(r.stdout, /^motd: motd from lower1$/m, 'lower1 lies on top of lower2');
  t.regex(r.stdout, /upper\/app\.conf, the changed copy:\n {2}setting=1\n {2}setting=2\n/, 'copy-up: the upper layer holds the changed file');
  t.regex(r.stdout, /lower2\/app\.conf, unchanged:\n {2}setting=1\n(?! {2})/, 'copy-up: the lower layer is unchanged');
  t.regex(r.stdout, /the mount has no old\.log any more:\n {2}app\.conf\n {2}motd\n(?! {2})/);
  t.regex(r.stdout, /upper\/old\.log: character special file 0,0$/m, 'the whiteout is a char device 0/0 in the upper layer');
  t.regex(r.stdout, /lower2\/old\.log is still there: old log line/);
  t.regex(r.stdout, /unmount with: umount /);
  t.false(isMounted(mnt), 'the demo left its mount behind');
  t.true(await waitFor(() => pidsMentioning(demo).length === 0, 5000), 'a process naming the demo dir is still running');
  t.false(existsSync(demo), 'the demo did not remove its directory');
});

test.serial('examples/fstab mounts with mount -T (fuse.braidfs, and the commented braidfs line)', async (t) => {
  t.timeout(60_000);
  needInstall();
  const fx = makeDisks(t);
  const text = readFileSync(join(examples, 'fstab'), 'utf8');
  const live = text.split('\n').filter((l) => l.trim() !== '' && !l.trimStart().startsWith('#'));
  t.deepEqual(live, ['/mnt/disk*  /mnt/pool  fuse.braidfs  defaults,allow_other,category.create=mfs,minfreespace=20G,nofail  0 0']);
  const alternative = text.split('\n').filter((l) => /^#\/mnt\/disk\*\s+\/mnt\/pool\s+braidfs\s/.test(l));
  t.is(alternative.length, 1, 'the commented alternative with the type braidfs');

  // As written.
  const fstab = join(fx.base, 'fstab');
  writeFileSync(fstab, localize(text, fx));
  const r = await run('mount', ['-T', fstab, fx.pool], { timeoutMs: 20_000 });
  t.is(r.code, 0, show(r));
  if (r.code !== 0) return;
  await checkUnion(t, fx);
  await unmountAndCheck(t, fx);

  // The alternative line instead of the first one.
  const swapped = text
    .split('\n')
    .map((l) => (l === live[0] ? `#${l}` : l === alternative[0] ? l.slice(1) : l))
    .join('\n');
  writeFileSync(fstab, localize(swapped, fx));
  const r2 = await run('mount', ['-T', fstab, fx.pool], { timeoutMs: 20_000 });
  t.is(r2.code, 0, show(r2));
  if (r2.code !== 0) return;
  await checkUnion(t, fx);
  await unmountAndCheck(t, fx);
});

test.serial('examples/mnt-pool.mount: its What/Where/Type/Options mount with mount -t, and umount ends it', async (t) => {
  t.timeout(60_000);
  needInstall();
  const file = join(examples, 'mnt-pool.mount');
  const unit = parseUnit(readFileSync(file, 'utf8'));
  const where = unitValue(unit, 'Mount', 'Where');
  t.is(where, '/mnt/pool');
  const escaped = spawnSync('systemd-escape', ['--path', '--suffix=mount', where], { encoding: 'utf8' });
  t.is(escaped.status === 0 ? escaped.stdout.trim() : 'mnt-pool.mount', basename(file), 'a mount unit is named after its Where=');
  await verifyUnit(t, file);

  const fx = makeDisks(t);
  const args = ['-t', unitValue(unit, 'Mount', 'Type'), localize(unitValue(unit, 'Mount', 'What'), fx), localize(where, fx), '-o', localize(unitValue(unit, 'Mount', 'Options'), fx)];
  t.is(args[1], 'fuse.braidfs');
  t.log(`mount ${args.join(' ')}`);
  const r = await run('mount', args, { timeoutMs: 20_000 });
  t.is(r.code, 0, show(r));
  if (r.code !== 0) return;
  await checkUnion(t, fx);
  // `systemctl stop` unmounts a mount unit with umount(8).
  await unmountAndCheck(t, fx);
});

test.serial('examples/braidfs-pool.service: ExecStart mounts in the foreground, ExecStop unmounts, braidfs exits 0', async (t) => {
  t.timeout(60_000);
  needInstall();
  const file = join(examples, 'braidfs-pool.service');
  const text = readFileSync(file, 'utf8');
  const unit = parseUnit(text);
  t.is(unitValue(unit, 'Service', 'Restart'), 'on-failure');
  t.regex(unitValue(unit, 'Unit', 'After'), /\blocal-fs\.target\b/);
  await verifyUnit(t, file);

  const fx = makeDisks(t);
  const execStart = localize(unitValue(unit, 'Service', 'ExecStart'), fx);
  const execStop = localize(unitValue(unit, 'Service', 'ExecStop'), fx);
  for (const line of [execStart, execStop]) t.notRegex(line, /["'\\$%]/, 'no systemd quoting or specifiers to interpret');
  const start = execStart.split(/\s+/);
  t.is(start[0], '/usr/local/bin/braidfs');
  t.true(start.includes('-f'), 'ExecStart runs braidfs in the foreground');
  t.deepEqual(execStop.split(/\s+/), ['/bin/umount', fx.pool]);
  t.log(`ExecStart=${execStart}`);

  // What systemd does: start the command (and keep it as the main process), ...
  const child = spawn(start[0]!, start.slice(1), { stdio: ['ignore', 'ignore', 'pipe'], env: { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' } });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (d: string) => (stderr += d));
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')));
  t.teardown(() => unmountHard(fx.pool, fx.base));
  const mounted = await waitFor(() => isMounted(fx.pool) || child.exitCode !== null || child.signalCode !== null, 15_000);
  t.true(mounted && isMounted(fx.pool), `ExecStart did not mount ${fx.pool}:\n${stderr}`);
  if (!isMounted(fx.pool)) return;
  await checkUnion(t, fx);
  // ... then, on stop, ExecStop; the main process must exit by itself, with 0 (else Restart=on-failure restarts it).
  const stop = execStop.split(/\s+/);
  const u = await run(stop[0]!, stop.slice(1), { timeoutMs: 10_000 });
  t.is(u.code, 0, `ExecStop: ${show(u)}`);
  const code = await Promise.race([exited, sleep(5000).then(() => 'still running 5 s after ExecStop')]);
  t.is(code, 0, `braidfs -f after ExecStop: ${code}\n${stderr}`);
  t.false(isMounted(fx.pool));
});

test.serial('examples/podman-storage.conf: podman reads it (overlay driver, braidfs as mount_program)', async (t) => {
  if (spawnSync('sh', ['-c', 'command -v podman'], { stdio: 'ignore' }).status !== 0) {
    t.fail('podman is not installed: apt-get install -y podman (as .ci/run does)');
    return;
  }
  const text = readFileSync(join(examples, 'podman-storage.conf'), 'utf8');
  t.regex(text, /^driver = "overlay"$/m);
  t.regex(text, /^mount_program = "\/usr\/local\/bin\/braidfs"$/m);
  const work = makeTempDir('braidfs-examples-podman-');
  // Everything podman writes, including what `system reset` deletes, stays in WORK.
  const storageConf = join(work, 'storage.conf');
  const containersConf = join(work, 'containers.conf');
  const env = { ...process.env, CONTAINERS_STORAGE_CONF: storageConf, CONTAINERS_CONF: containersConf };
  t.teardown(async () => {
    await run('podman', ['system', 'reset', '-f'], { env, timeoutMs: 60_000 });
    for (const mp of mountsUnder(work)) spawnSync('umount', ['-l', mp], { stdio: 'ignore' });
    rmSync(work, { recursive: true, force: true });
  });
  const copy = text
    .replace(/^graphroot = .*$/m, `graphroot = "${join(work, 'root')}"`)
    .replace(/^runroot = .*$/m, `runroot = "${join(work, 'runroot')}"`)
    .replace(/^mount_program = .*$/m, `mount_program = "${braidfsBin}"`);
  t.true(copy.includes(join(work, 'root')) && copy.includes(join(work, 'runroot')), 'graphroot and runroot were rewritten');
  writeFileSync(storageConf, copy);
  mkdirSync(join(work, 'networks'));
  writeFileSync(
    containersConf,
    [
      '[engine]',
      'cgroup_manager = "cgroupfs"',
      'events_logger = "file"',
      `events_logfile_path = "${join(work, 'events.log')}"`,
      `tmp_dir = "${join(work, 'tmp')}"`,
      `static_dir = "${join(work, 'root', 'libpod')}"`,
      `volume_path = "${join(work, 'root', 'volumes')}"`,
      '[network]',
      `network_config_dir = "${join(work, 'networks')}"`,
      '',
    ].join('\n'),
  );
  const r = await run('podman', ['info', '--format', '{{.Store.GraphDriverName}} {{json .Store.GraphOptions}}'], { env, timeoutMs: 60_000 });
  t.is(r.code, 0, show(r));
  const [driver, ...rest] = r.stdout.trim().split(' ');
  t.is(driver, 'overlay', show(r));
  const options = JSON.parse(rest.join(' ')) as Record<string, unknown>;
  const mp = options['overlay.mount_program'] as { Executable?: string; Version?: string } | undefined;
  t.is(mp?.Executable, braidfsBin, show(r));
  // podman asks the mount program for its version.
  t.regex(mp?.Version ?? '', /braidfs/, show(r));
});

test('examples/braidfs.conf mounts as written with -o config=', async (t) => {
  t.timeout(60_000);
  const file = join(examples, 'braidfs.conf');
  const m = await withMount(t, { options: [`config=${file}`] });
  // Every setting in it is commented out: the defaults stand.
  const r = await run('getfattr', ['--only-values', '-n', 'user.braidfs.category.create', m.path('.braidfs')], { timeoutMs: 10_000 });
  t.is(r.code, 0, show(r));
  t.is(r.stdout.trim(), 'pfrd');
});
