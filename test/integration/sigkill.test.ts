// SIGKILL of the daemon while a reader is busy: the connection is aborted,
// so access gives ENOTCONN promptly (no hang), the reader loop ends, and the
// dead mount can still be cleaned up.
import test from 'ava';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { forceUnmount, isMounted, withMount } from '../helpers/mount.js';
import { run, waitFor } from './util.js';

test('SIGKILL of the daemon mid-read: ENOTCONN, no hang, cleanup still works', async (t) => {
  t.timeout(60_000);
  // No attribute/entry caching: otherwise a stat within the cache timeout is
  // answered from the kernel's cache even though the daemon is gone.
  const m = await withMount(t, { options: ['cache.attr=0', 'cache.entry=0'] });
  writeFileSync(m.path('data.bin'), Buffer.alloc(256 * 1024, 7));

  // Reader loop in its own process: one dot per full read of the file.
  const reader = spawn('sh', ['-c', 'while cat "$1" >/dev/null && stat "$1" >/dev/null; do printf .; done; echo; echo reader-ended', 'reader', m.path('data.bin')], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.teardown(() => {
    if (reader.exitCode === null && reader.signalCode === null) reader.kill('SIGKILL');
  });
  let out = '';
  let err = '';
  reader.stdout.setEncoding('utf8');
  reader.stderr.setEncoding('utf8');
  reader.stdout.on('data', (d: string) => (out += d));
  reader.stderr.on('data', (d: string) => (err += d));
  // 'close', not 'exit': 'exit' can fire before the last of the reader's
  // output has been read from its pipes, and the test reads that output.
  const readerExit = new Promise<number | null>((r) => reader.on('close', (code) => r(code)));

  t.true(await waitFor(() => (out.match(/\./g)?.length ?? 0) >= 20, 15_000), `reader made progress through the mount (stdout ${JSON.stringify(out.slice(0, 80))}, stderr ${err})`);
  t.is(reader.exitCode, null, 'reader still running before the kill');

  t.true(m.child.kill('SIGKILL'), 'SIGKILL delivered to the daemon');
  await new Promise<void>((r) => (m.child.exitCode !== null || m.child.signalCode !== null ? r() : m.child.once('exit', () => r())));
  t.is(m.child.signalCode, 'SIGKILL');

  // The reader notices (its next open/read/stat fails) instead of hanging.
  const code = await Promise.race([readerExit, new Promise<'hang'>((r) => setTimeout(() => r('hang'), 10_000))]);
  t.not(code, 'hang', 'reader loop ended within 10 s of the kill');
  t.regex(out, /reader-ended/);
  // ENOTCONN for requests made after the abort; ECONNABORTED for the one the
  // reader had in flight at the moment of the kill (the kernel's choice).
  t.regex(err, /Transport endpoint is not connected|Software caused connection abort/, 'reader failed with ENOTCONN/ECONNABORTED');

  // stat of a file and of the mountpoint: ENOTCONN, not a hang.
  for (const target of [m.path('data.bin'), m.mountpoint, m.path('never-looked-up')]) {
    const r = await run('timeout', ['10', 'stat', target], { timeoutMs: 20_000 });
    t.not(r.code, 124, `stat ${target} hung (timeout fired)`);
    t.not(r.code, 0, `stat ${target} should fail`);
    t.regex(r.stderr, /Transport endpoint is not connected/, `stat ${target}: ${r.stderr.trim()}`);
  }

  // The dead mount is still listed until someone unmounts it; forceUnmount must cope.
  t.true(isMounted(m.mountpoint), 'the aborted mount stays until unmounted');
  await forceUnmount(m.mountpoint);
  t.false(isMounted(m.mountpoint), 'forceUnmount removed the dead mount');
});
