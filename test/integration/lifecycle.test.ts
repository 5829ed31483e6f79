// Process lifecycle of the CLI: daemonizing, exit on unmount, SIGTERM,
// and start-up errors that must leave nothing mounted.
import test from 'ava';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { braidfsBin, forceUnmount, isMounted, makeTempDir, mountBraidfs } from '../helpers/mount.js';
import { pidAlive, run, waitFor } from './util.js';
import { cmdline, pidsMentioning } from '../helpers/procs.js';

function stderrLines(s: string): string[] {
  return s.split('\n').filter((l) => l.trim() !== '');
}

test('background mode: exits 0 once the mount is live; umount ends the daemon', async (t) => {
  t.timeout(60_000);
  const src = makeTempDir('braidfs-src-');
  const mnt = makeTempDir('braidfs-mnt-');
  writeFileSync(join(src, 'hello.txt'), 'hello\n');
  let daemonPids: number[] = [];
  t.teardown(async () => {
    await forceUnmount(mnt);
    for (const p of daemonPids) if (pidAlive(p)) process.kill(p, 'SIGKILL');
    rmSync(mnt, { recursive: true, force: true });
    rmSync(src, { recursive: true, force: true });
  });

  const r = await run(braidfsBin, [src, mnt], { timeoutMs: 30_000 });
  t.false(r.timedOut, 'the CLI returned (did not stay in the foreground)');
  t.is(r.code, 0, `exit code (stderr: ${r.stderr.trim()})`);
  t.false(r.pipesHeldOpen, 'the daemon must not keep the caller\'s stdout/stderr open ($(braidfs ...) would hang)');
  t.true(isMounted(mnt), 'the mount is live as soon as the CLI has exited');
  t.is(readFileSync(join(mnt, 'hello.txt'), 'utf8'), 'hello\n', 'the mount serves the source');

  daemonPids = pidsMentioning(mnt).filter((p) => /braidfs|node/.test(cmdline(p)));
  t.log(`daemon pids: ${daemonPids.join(',')} (${daemonPids.map(cmdline).join(' | ')})`);
  t.true(daemonPids.length >= 1, 'the background daemon is findable by its mountpoint (pgrep -f)');

  const u = await run('umount', [mnt], { timeoutMs: 20_000 });
  t.is(u.code, 0, `umount: ${u.stderr.trim()}`);
  t.false(isMounted(mnt));
  t.true(await waitFor(() => daemonPids.every((p) => !pidAlive(p)), 5_000), `daemon still alive 5 s after umount: ${daemonPids.filter(pidAlive).join(',')}`);
});

test('SIGTERM to a foreground daemon unmounts and exits 0', async (t) => {
  t.timeout(60_000);
  const m = await mountBraidfs();
  t.teardown(async () => {
    await m.unmount();
    rmSync(m.source, { recursive: true, force: true });
  });
  writeFileSync(m.path('f'), 'x');
  const exited = new Promise<void>((r) => (m.child.exitCode !== null || m.child.signalCode !== null ? r() : m.child.once('exit', () => r())));
  m.child.kill('SIGTERM');
  const done = await Promise.race([exited.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 10_000))]);
  t.true(done, 'daemon exited within 10 s of SIGTERM');
  t.is(m.child.signalCode, null, 'exited by itself, not killed by the signal');
  t.is(m.child.exitCode, 0, `exit code; log:\n${m.log()}`);
  t.false(isMounted(m.mountpoint), 'mount is gone after SIGTERM');
  t.is(readFileSync(m.src('f'), 'utf8'), 'x', 'data written before SIGTERM is in the source');
});

for (const mode of ['background', 'foreground'] as const) {
  const flags = mode === 'foreground' ? ['-f'] : [];

  test(`missing SOURCE (${mode}): non-zero exit, one stderr line, nothing mounted`, async (t) => {
    t.timeout(40_000);
    const mnt = makeTempDir('braidfs-mnt-');
    const missing = join(makeTempDir('braidfs-gone-'), 'does-not-exist');
    t.teardown(async () => {
      await forceUnmount(mnt);
      rmSync(mnt, { recursive: true, force: true });
    });
    const r = await run(braidfsBin, [...flags, missing, mnt], { timeoutMs: 20_000 });
    t.false(r.timedOut, 'the CLI returned');
    t.not(r.code, 0, 'exit code');
    t.is(stderrLines(r.stderr).length, 1, `exactly one line on stderr, got:\n${r.stderr}`);
    t.false(isMounted(mnt), 'nothing mounted');
  });

  test(`MOUNTPOINT not a directory (${mode}): non-zero exit, one stderr line, nothing mounted`, async (t) => {
    t.timeout(40_000);
    const src = makeTempDir('braidfs-src-');
    const dir = makeTempDir('braidfs-mnt-');
    const file = join(dir, 'regular-file');
    writeFileSync(file, 'not a directory');
    t.teardown(async () => {
      await forceUnmount(file);
      rmSync(dir, { recursive: true, force: true });
      rmSync(src, { recursive: true, force: true });
    });
    const r = await run(braidfsBin, [...flags, src, file], { timeoutMs: 20_000 });
    t.false(r.timedOut, 'the CLI returned');
    t.not(r.code, 0, 'exit code');
    t.is(stderrLines(r.stderr).length, 1, `exactly one line on stderr, got:\n${r.stderr}`);
    t.false(isMounted(file), 'nothing mounted');
    t.is(readFileSync(file, 'utf8'), 'not a directory', 'the file is untouched');
  });
}
