// braidfs inside a user namespace (`unshare -Urm`, plus a pid namespace so
// nothing outlives the driver): it mounts with mount(2) as namespace root,
// passthrough is refused there (EPERM) so it falls back to userspace I/O and
// says so in one log line, and a write/read/append/truncate/rename/readdir/
// mmap/xattr workload behaves exactly as on a plain directory.
import test from 'ava';
import { rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isMounted, makeTempDir } from '../helpers/mount.js';
import type { UsernsResult } from './userns-driver.js';
import { passthroughFallbackLines, run } from './util.js';

const driverJs = join(dirname(fileURLToPath(import.meta.url)), 'userns-driver.js');

test('in a user namespace: mounts, falls back from passthrough, behaves like a plain directory', async (t) => {
  t.timeout(120_000);
  const src = makeTempDir('braidfs-userns-src-');
  t.teardown(() => rmSync(src, { recursive: true, force: true }));

  // --kill-child: if unshare dies (e.g. the timeout below), the driver gets
  // SIGKILL; the driver is PID 1 of the new pid namespace, so its death kills
  // the daemon too, and the private mount namespace (with the mount) goes away.
  const r = await run('unshare', ['-Urmp', '--fork', '--kill-child', '--mount-proc', process.execPath, driverJs, src], { timeoutMs: 100_000 });
  t.false(r.timedOut, 'driver timed out');
  const line = r.stdout.split('\n').find((l) => l.startsWith('USERNS-RESULT '));
  if (!line) {
    t.fail(`driver printed no result (exit ${r.code}, signal ${r.signal}):\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
    return;
  }
  const res = JSON.parse(line.slice('USERNS-RESULT '.length)) as UsernsResult;
  t.log(`uid_map: ${res.uidMap}; stage: ${res.stage}; daemon exit: ${JSON.stringify(res.daemonExit)}`);
  t.is(r.code, 0, `driver exit code; stderr: ${r.stderr}`);
  t.is(res.error, null, `driver error at stage ${res.stage}; daemon log:\n${res.log}`);
  t.true(res.mounted, 'mounted inside the namespace');
  t.is(res.fstype, 'fuse.braidfs');

  const fallback = passthroughFallbackLines(res.log);
  t.is(fallback.length, 1, `exactly one log line explains the passthrough fallback; log:\n${res.log}`);

  t.truthy(res.mount);
  t.deepEqual(res.mount, res.plain, 'workload on the mount vs on a plain directory');
  t.deepEqual(res.sourceTree, res.plainTree, 'what landed in the source vs the plain directory');

  t.is(res.umountStatus, 0, `umount inside the namespace: ${res.umountStderr}`);
  t.false(res.stillMounted);
  t.deepEqual(res.daemonExit, { code: 0, signal: null }, `daemon exits 0 by itself after umount; log:\n${res.log}`);
  t.false(isMounted(src), 'nothing leaked into the host mount namespace');
});
