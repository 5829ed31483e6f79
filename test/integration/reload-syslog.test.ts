// SIGHUP re-reads `-o config=FILE` and applies what can change while mounted;
// in the background the daemon logs to syslog through logger(1) with one
// priority per line (facility daemon: error <27>, warn <28>, info <30>,
// debug <31>).
//
// The syslog tests capture what reaches /dev/log with a small python3
// datagram listener. When /dev/log does not exist (no syslog daemon here)
// the listener is bound at /dev/log itself for the test and removed after;
// when it exists, the real one is left alone: braidfs runs inside a private
// mount namespace (`unshare -m`) where the listener's socket is bind-mounted
// over /dev/log. The tests sharing /dev/log are serial.
import test, { type ExecutionContext } from 'ava';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { braidfsBin, forceUnmount, isMounted, makeTempDir, withMount } from '../helpers/mount.js';
import { pidAlive, readMount, run, sleep, waitFor, writeMount, type RunOptions, type RunResult } from './util.js';

const isRoot = process.getuid?.() === 0;

async function getOption(mnt: string, name: string): Promise<string> {
  const r = await run('getfattr', ['--only-values', '-n', `user.braidfs.${name}`, join(mnt, '.braidfs')], { timeoutMs: 10_000 });
  if (r.code !== 0) throw new Error(`getfattr user.braidfs.${name}: ${r.stderr}`);
  return r.stdout;
}

/** The fields of `dir`'s line in a mountinfo file: mount options, source, super options. */
function mountEntry(dir: string, mountinfo = '/proc/self/mountinfo'): { opts: string; source: string; superOpts: string } | undefined {
  const target = resolve(dir);
  for (const line of readFileSync(mountinfo, 'utf8').split('\n')) {
    const f = line.split(' ');
    const sep = f.indexOf('-');
    if (sep > 0 && f[4] === target) return { opts: f[5] ?? '', source: f[sep + 2] ?? '', superOpts: f[sep + 3] ?? '' };
  }
  return undefined;
}

// ---- SIGHUP ---------------------------------------------------------------------------

test('SIGHUP re-reads the config file: runtime options change, mount-only ones are reported and kept', async (t) => {
  t.timeout(90_000);
  if (!isRoot) return t.pass('needs root (tmpfs branches)');
  // Two branches with different free space, so ff and lfs pick different ones.
  const top = makeTempDir('braidfs-hup-');
  const big = join(top, 'big');
  const small = join(top, 'small');
  const conf = join(top, 'braidfs.conf');
  t.teardown(() => {
    for (const d of [big, small]) spawnSync('umount', ['-l', d], { stdio: 'ignore' });
    rmSync(top, { recursive: true, force: true });
  });
  for (const [d, size] of [
    [big, '64m'],
    [small, '16m'],
  ] as const) {
    mkdirSync(d);
    const r = await run('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'braidfs-hup', d], { timeoutMs: 10_000 });
    t.is(r.code, 0, `mount tmpfs: ${r.stderr}`);
  }
  writeFileSync(conf, '# before\ncategory.create=ff\ncache.attr=1\n');
  const m = await withMount(t, { source: `${big}:${small}`, options: [`config=${conf}`, 'minfreespace=1M'] });
  const pid = m.child.pid ?? -1;

  t.is(await getOption(m.mountpoint, 'category.create'), 'ff');
  t.is(await getOption(m.mountpoint, 'cache.attr'), '1');
  const fsnameBefore = await getOption(m.mountpoint, 'fsname');
  const entryBefore = mountEntry(m.mountpoint);
  t.truthy(entryBefore);
  t.regex(entryBefore?.opts ?? '', /(^|,)nodev(,|$)/, 'mounted nodev (the default)');
  await writeMount(m.path('before.txt'), 'b');
  t.true(existsSync(join(big, 'before.txt')), 'ff: a new file goes to the first branch');

  writeFileSync(conf, '# after\ncategory.create=lfs\ncache.attr=5\nnodev=false\nfsname=other\n');
  t.true(m.child.kill('SIGHUP'));
  t.true(await waitFor(() => /SIGHUP: read .* again; 2 option\(s\) changed/.test(m.log()), 10_000), `reload summary line; log:\n${m.log()}`);

  t.is(await getOption(m.mountpoint, 'category.create'), 'lfs', 'category.create follows the file');
  t.is(await getOption(m.mountpoint, 'cache.attr'), '5', 'cache.attr follows the file');
  t.is(await getOption(m.mountpoint, 'nodev'), 'true', 'nodev is mount-only: unchanged');
  t.is(await getOption(m.mountpoint, 'fsname'), fsnameBefore, 'fsname is mount-only: unchanged');
  const entryAfter = mountEntry(m.mountpoint);
  t.deepEqual(entryAfter, entryBefore, 'the mount itself (flags, source) is unchanged');
  await writeMount(m.path('after.txt'), 'a');
  t.true(existsSync(join(small, 'after.txt')), 'lfs: a new file now goes to the branch with less free space');
  t.false(existsSync(join(big, 'after.txt')));

  const log = m.log();
  const esc = conf.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  t.regex(log, new RegExp(`^braidfs\\[${pid}\\] warn: SIGHUP: ${esc}: nodev changes only at mount; keeping nodev=true$`, 'm'), 'warning names nodev');
  t.regex(log, new RegExp(`^braidfs\\[${pid}\\] warn: SIGHUP: ${esc}: fsname changes only at mount; keeping fsname=`, 'm'), 'warning names fsname');
  t.regex(log, new RegExp(`^braidfs\\[${pid}\\] info: option category\\.create changed$`, 'm'));
  t.regex(log, new RegExp(`^braidfs\\[${pid}\\] info: option cache\\.attr changed$`, 'm'));
  t.regex(log, new RegExp(`^braidfs\\[${pid}\\] info: SIGHUP: read ${esc} again; 2 option\\(s\\) changed$`, 'm'));
  t.notRegex(log, /error:/, 'no errors logged');
  t.is(m.child.exitCode, null, 'daemon alive');
});

test('SIGHUP with the config file gone: error logged, options unchanged, daemon alive', async (t) => {
  t.timeout(60_000);
  const dir = makeTempDir('braidfs-hup-');
  const conf = join(dir, 'braidfs.conf');
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(conf, 'category.create=ff\ncache.attr=1\n');
  const m = await withMount(t, { options: [`config=${conf}`] });
  writeFileSync(m.src('x'), 'x');
  rmSync(conf);
  t.true(m.child.kill('SIGHUP'));
  const esc = conf.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const errRe = new RegExp(`^braidfs\\[\\d+\\] error: SIGHUP: cannot read '${esc}'.*ENOENT.*keeping the current options$`, 'm');
  t.true(await waitFor(() => errRe.test(m.log()), 10_000), `error line; log:\n${m.log()}`);
  await sleep(200);
  t.is(m.child.exitCode, null, 'daemon alive');
  t.true(isMounted(m.mountpoint), 'still mounted');
  t.is(await readMount(m.path('x')), 'x', 'still serving');
  t.is(await getOption(m.mountpoint, 'category.create'), 'ff', 'options unchanged');
  t.is(await getOption(m.mountpoint, 'cache.attr'), '1');
  t.notRegex(m.log(), /option \S+ changed/, 'nothing was changed');

  // The same daemon reads the file again once it is back.
  writeFileSync(conf, 'category.create=mfs\n');
  t.true(m.child.kill('SIGHUP'));
  t.true(await waitFor(() => /SIGHUP: read .* again; 1 option\(s\) changed/.test(m.log()), 10_000), `log:\n${m.log()}`);
  t.is(await getOption(m.mountpoint, 'category.create'), 'mfs');
});

test('SIGHUP without -o config: logged at info, nothing else happens', async (t) => {
  t.timeout(60_000);
  const m = await withMount(t);
  t.true(m.child.kill('SIGHUP'));
  t.true(await waitFor(() => /info: SIGHUP: no config file to read again/.test(m.log()), 10_000), `log:\n${m.log()}`);
  t.is(m.child.exitCode, null, 'daemon alive');
  t.true(isMounted(m.mountpoint));
});

// ---- syslog -----------------------------------------------------------------------------

/** Appends every datagram received on argv[1] to argv[2], one a line; says "ready" once bound. */
const LISTENER = `
import os, socket, sys
path, out = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
os.chmod(path, 0o666)
sys.stdout.write("ready\\n"); sys.stdout.flush()
with open(out, "ab", buffering=0) as f:
    while True:
        d = s.recv(65536)
        f.write(d.replace(b"\\n", b" ").rstrip(b" ") + b"\\n")
`;

/** Where braidfs runs so that its /dev/log is our listener, and how to look at its mounts. */
interface SyslogCapture {
  readonly how: string;
  records(): string[];
  run(cmd: string, args: readonly string[], opts?: RunOptions): Promise<RunResult>;
  mounted(mnt: string): boolean;
  unmount(mnt: string): Promise<RunResult>;
}

function pathExists(p: string): boolean {
  try {
    lstatSync(p);
    return true;
  } catch {
    return false;
  }
}

/** Spawns and waits for the first stdout line to be `ready`. */
async function startReady(cmd: string, args: readonly string[]): Promise<ChildProcess> {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout?.setEncoding('utf8');
  child.stderr?.setEncoding('utf8');
  child.stdout?.on('data', (d: string) => (out += d));
  child.stderr?.on('data', (d: string) => (err += d));
  if (!(await waitFor(() => out.includes('ready') || child.exitCode !== null || child.signalCode !== null, 10_000)) || !out.includes('ready')) {
    child.kill('SIGKILL');
    throw new Error(`${cmd} ${args.join(' ')} did not get ready: ${err}`);
  }
  return child;
}

async function openCapture(t: ExecutionContext): Promise<SyslogCapture> {
  const dir = makeTempDir('braidfs-syslog-');
  const out = join(dir, 'records.txt');
  writeFileSync(out, '');
  const direct = !pathExists('/dev/log');
  const sock = direct ? '/dev/log' : join(dir, 'log.sock');
  const procs: { listener?: ChildProcess; holder?: ChildProcess } = {};
  t.teardown(() => {
    procs.holder?.kill('SIGKILL');
    procs.listener?.kill('SIGKILL');
    // Only the socket this test bound at /dev/log; a real /dev/log is never touched.
    if (direct) {
      try {
        if (lstatSync('/dev/log').isSocket()) unlinkSync('/dev/log');
      } catch {
        // already gone
      }
    }
    rmSync(dir, { recursive: true, force: true });
  });
  procs.listener = await startReady('python3', ['-c', LISTENER, sock, out]);
  const records = (): string[] => readFileSync(out, 'utf8').split('\n').filter(Boolean);
  if (direct) {
    return {
      how: 'listener bound at /dev/log',
      records,
      run: (cmd, args, opts) => run(cmd, args, opts),
      mounted: (mnt) => isMounted(mnt),
      unmount: async (mnt) => {
        const r = await run('umount', [mnt], { timeoutMs: 20_000 });
        if (r.code !== 0) await forceUnmount(mnt);
        return r;
      },
    };
  }
  // /dev/log exists: hold a private mount namespace with our socket over it, and run braidfs in there.
  const holder = await startReady('unshare', ['-m', '--propagation', 'private', 'sh', '-c', 'mount --bind "$0" /dev/log && echo ready && exec sleep 100000', sock]);
  procs.holder = holder;
  const ns = String(holder.pid);
  return {
    how: 'listener bind-mounted over /dev/log in a private mount namespace',
    records,
    run: (cmd, args, opts) => run('nsenter', ['-t', ns, '-m', '--', cmd, ...args], opts),
    mounted: (mnt) => mountEntry(mnt, `/proc/${ns}/mountinfo`) !== undefined,
    unmount: async (mnt) => {
      const r = await run('nsenter', ['-t', ns, '-m', '--', 'umount', mnt], { timeoutMs: 20_000 });
      if (r.code !== 0) await run('nsenter', ['-t', ns, '-m', '--', 'umount', '-l', mnt], { timeoutMs: 20_000 });
      return r;
    },
  };
}

async function daemonPids(mnt: string): Promise<number[]> {
  const r = await run('pgrep', ['-f', '--', `main\\.js -f .*${mnt.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`], { timeoutMs: 10_000 });
  return r.stdout.split('\n').filter(Boolean).map(Number);
}

const PRI = { error: 27, warn: 28, info: 30, debug: 31 } as const;
type Level = keyof typeof PRI;
/** What logger(1) sends to /dev/log for `<PRI>braidfs[PID] LEVEL: MSG` on its input (RFC 3164, tag braidfs). */
const RECORD = /^<(\d+)>([A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d) braidfs: braidfs\[(\d+)\] (error|warn|info|debug): (.*)$/;

interface Parsed {
  pri: number;
  level: Level;
  msg: string;
  raw: string;
}

/**
 * Background mount with `log.level`, then: SIGUSR2 (info: stats), a config
 * file with an unknown option + SIGHUP (warn), the file deleted + SIGHUP
 * (error), umount. Returns the daemon's syslog records.
 */
async function backgroundScenario(t: ExecutionContext, cap: SyslogCapture, level: Level): Promise<{ records: Parsed[]; mnt: string; conf: string; pid: number }> {
  const src = makeTempDir('braidfs-src-');
  const mnt = makeTempDir('braidfs-mnt-');
  const confDir = makeTempDir('braidfs-conf-');
  const conf = join(confDir, 'braidfs.conf');
  writeFileSync(join(src, 'f'), 'f');
  writeFileSync(conf, 'category.create=ff\n');
  let pids: number[] = [];
  t.teardown(async () => {
    if (cap.mounted(mnt)) await cap.unmount(mnt);
    for (const p of [...pids, ...(await daemonPids(mnt))]) if (pidAlive(p)) process.kill(p, 'SIGKILL');
    if (cap.mounted(mnt)) await cap.unmount(mnt);
    // Never recurse into a mount that could not be removed.
    for (const d of cap.mounted(mnt) || isMounted(mnt) ? [src, confDir] : [mnt, src, confDir]) rmSync(d, { recursive: true, force: true });
  });

  const r = await cap.run(braidfsBin, ['-o', `config=${conf},log.level=${level},fuse_msg_size=256`, src, mnt], { timeoutMs: 30_000 });
  t.is(r.code, 0, `background mount (${cap.how}): ${r.stderr}`);
  t.is(r.stderr, '', 'nothing on the caller\'s stderr when the mount works');
  t.true(cap.mounted(mnt), 'mounted when the CLI returns');
  pids = await daemonPids(mnt);
  t.is(pids.length, 1, 'one daemon');
  const pid = pids[0] ?? -1;
  const mine = (): Parsed[] =>
    cap
      .records()
      .filter((l) => l.includes(`braidfs[${pid}]`))
      .map((raw) => {
        const m = RECORD.exec(raw);
        return { pri: Number(m?.[1] ?? -1), level: (m?.[4] ?? 'error') as Level, msg: m?.[5] ?? '', raw };
      });
  const seen = (re: RegExp): boolean => mine().some((p) => re.test(p.msg));

  process.kill(pid, 'SIGUSR2');
  if (level === 'debug' || level === 'info') t.true(await waitFor(() => seen(/^stats: requests/), 10_000), 'stats records arrived');
  writeFileSync(conf, 'category.create=ff\nno-such-option-xyz=1\n');
  process.kill(pid, 'SIGHUP');
  t.true(await waitFor(() => seen(/unknown option 'no-such-option-xyz'/), 10_000), `warn record arrived; records:\n${cap.records().join('\n')}`);
  rmSync(conf);
  process.kill(pid, 'SIGHUP');
  t.true(await waitFor(() => seen(/SIGHUP: cannot read/), 10_000), `error record arrived; records:\n${cap.records().join('\n')}`);

  const u = await cap.unmount(mnt);
  t.is(u.code, 0, `umount: ${u.stderr}`);
  t.true(await waitFor(() => !pidAlive(pid), 10_000), 'daemon exits after umount');
  // logger(1) has the daemon's last lines once its input closed; let it hand them on.
  await sleep(500);
  return { records: mine(), mnt, conf, pid };
}

function checkFormat(t: ExecutionContext, records: readonly Parsed[]): void {
  for (const r of records) {
    t.regex(r.raw, RECORD, 'a logger(1) RFC 3164 record: <PRI>TIMESTAMP braidfs: braidfs[PID] LEVEL: MSG');
    t.is(r.pri, PRI[r.level], `priority of a ${r.level} line is daemon.${r.level}: ${r.raw}`);
  }
}

test.serial('background daemon logs to syslog with a priority per line (log.level=debug)', async (t) => {
  t.timeout(90_000);
  if (!isRoot) return t.pass('needs root (/dev/log)');
  const cap = await openCapture(t);
  t.log(cap.how);
  const { records, mnt, conf } = await backgroundScenario(t, cap, 'debug');
  t.log(records.map((r) => r.raw).join('\n'));
  t.true(records.length > 0, 'records captured');
  checkFormat(t, records);
  const has = (level: Level, re: RegExp): boolean => records.some((r) => r.pri === PRI[level] && r.level === level && re.test(r.msg));
  t.true(has('info', /^accepted and ignored: fuse-msg-size$/), 'info <30>: the ignored mergerfs option at start');
  t.true(has('debug', new RegExp(`^mounted .* on ${mnt} via `)), 'debug <31>: the mount line');
  t.true(has('info', /^stats: nodes=\d+ handles=\d+/), 'info <30>: SIGUSR2 stats');
  t.true(has('warn', new RegExp(`^SIGHUP: ${conf}: unknown option 'no-such-option-xyz'$`)), 'warn <28>: unknown option on reload');
  t.true(has('error', new RegExp(`^SIGHUP: cannot read '${conf}'`)), 'error <27>: config file gone on reload');
});

test.serial('background daemon at log.level=warn: warnings and errors reach syslog, info and debug do not', async (t) => {
  t.timeout(90_000);
  if (!isRoot) return t.pass('needs root (/dev/log)');
  const cap = await openCapture(t);
  t.log(cap.how);
  const { records, conf } = await backgroundScenario(t, cap, 'warn');
  t.log(records.map((r) => r.raw).join('\n'));
  checkFormat(t, records);
  t.true(records.some((r) => r.pri === PRI.warn && r.msg.startsWith(`SIGHUP: ${conf}: unknown option`)), 'warn <28> present');
  t.true(records.some((r) => r.pri === PRI.error && r.msg.startsWith('SIGHUP: cannot read')), 'error <27> present');
  t.deepEqual(
    records.filter((r) => r.pri === PRI.info || r.pri === PRI.debug || r.level === 'info' || r.level === 'debug').map((r) => r.raw),
    [],
    'no info or debug records',
  );
  t.false(records.some((r) => /accepted and ignored|stats:|^mounted /.test(r.msg)), 'the info/debug messages are absent');
});
