#!/usr/bin/env node
// `npm test`: compile, check the machine can really run the mount tests,
// clear stale FUSE mounts from earlier runs, run AVA (TAP) over the compiled
// tests, and end with one summary line: `N passed, M failed[, K skipped]`.
//
//   node test/run.mjs [ava args or globs...]
// Extra arguments are passed to AVA; if any of them is a file glob (does not
// start with `-`), it replaces the default globs.
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
process.chdir(root);

const DEFAULT_GLOBS = ['dist/test/unit/**/*.test.js', 'dist/test/conformance/**/*.test.js', 'dist/test/integration/**/*.test.js'];

function die(msg) {
  process.stdout.write(`${msg}\n0 passed, 0 failed\n`);
  process.exit(1);
}

function loud(lines) {
  const bar = '!'.repeat(78);
  process.stderr.write(`\n${bar}\n${lines.map((l) => `!!! ${l}`).join('\n')}\n${bar}\n\n`);
}

// 1. The mount tests must run, not be skipped: /dev/fuse has to be there.
let fuseOk = false;
try {
  fuseOk = statSync('/dev/fuse').isCharacterDevice();
} catch {
  fuseOk = false;
}
if (!fuseOk) {
  loud([
    '/dev/fuse is missing (or not a character device).',
    'The conformance and integration tests mount braidfs and cannot run here.',
    'Refusing to report success with the mount tests silently skipped.',
    'Fix: modprobe fuse, or run the container with --device /dev/fuse --cap-add SYS_ADMIN.',
  ]);
  die('run.mjs: /dev/fuse unavailable');
}

// 2. Stale FUSE mounts under /tmp from earlier (crashed) runs break later ones.
// Stale means: its daemon is dead or stuck (statfs, which FUSE never answers
// from a cache, fails or hangs), or it is a test-helper mount (mkdtemp names
// starting with `braidfs-`) left behind by an earlier run. A live mount
// someone made by hand (e.g. /tmp/mnt) is reported and left alone.
function unescapeMountPath(p) {
  return p.replace(/\\([0-7]{3})/g, (_, o) => String.fromCharCode(parseInt(o, 8)));
}
function fuseMountsUnderTmp() {
  const found = [];
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const f = line.split(' ');
    const sep = f.indexOf('-');
    if (sep < 0 || f[4] === undefined) continue;
    const mp = unescapeMountPath(f[4]);
    const type = f[sep + 1] ?? '';
    if ((type === 'fuse' || type.startsWith('fuse.')) && mp.startsWith('/tmp/')) found.push({ mp, type });
  }
  // deepest first, so nested mounts go before their parents
  return found.sort((a, b) => b.mp.length - a.mp.length);
}
function deadReason(mp) {
  const r = spawnSync('timeout', ['5', 'stat', '-f', mp], { encoding: 'utf8' });
  if (r.status === 0) return null;
  return r.status === 124 ? 'daemon not answering' : `daemon gone: ${(r.stderr || '').trim().split('\n').pop()}`;
}
const isTestMount = (mp) => /^braidfs-/.test(mp.split('/').pop() ?? '');
function unmountStale(when, onlyNew) {
  const handled = [];
  for (const { mp, type } of fuseMountsUnderTmp()) {
    if (onlyNew && !onlyNew(mp)) continue;
    const dead = deadReason(mp);
    if (!dead && !isTestMount(mp)) {
      if (!onlyNew) process.stdout.write(`run.mjs: note: leaving live ${type} mount ${mp} alone (not a test-helper mount)\n`);
      continue;
    }
    const r = spawnSync('umount', ['-l', mp], { encoding: 'utf8' });
    const why = dead ?? 'left by test helpers';
    process.stdout.write(`run.mjs: unmounted stale ${type} mount ${mp} ${when} (${why}; umount -l${r.status === 0 ? '' : ` FAILED: ${r.stderr.trim()}`})\n`);
    handled.push(mp);
  }
  return handled;
}
unmountStale('from an earlier run', null);
const mountsBefore = new Set(fuseMountsUnderTmp().map((m) => m.mp));
const left = fuseMountsUnderTmp().filter(({ mp }) => isTestMount(mp) || deadReason(mp));
if (left.length) die(`run.mjs: stale FUSE mounts remain and would break the tests: ${left.map((m) => m.mp).join(', ')}`);

// 3. Compile; fail fast.
process.stdout.write('run.mjs: npx tsc -p tsconfig.json\n');
const tsc = spawnSync('npx', ['tsc', '-p', 'tsconfig.json'], { stdio: 'inherit' });
if (tsc.status !== 0) die(`run.mjs: TypeScript compilation failed (exit ${tsc.status ?? tsc.signal}); no tests were run`);

// Lint is part of the test: an unawaited promise in the daemon is a kernel
// request that is never answered.
process.stdout.write('run.mjs: npx eslint .\n');
const lint = spawnSync('npx', ['eslint', '.'], { stdio: 'inherit' });
if (lint.status !== 0) die(`run.mjs: eslint found problems (exit ${lint.status ?? lint.signal}); no tests were run`);

// 4. AVA with TAP output, streamed through while counting.
const extra = process.argv.slice(2);
const globs = extra.filter((a) => !a.startsWith('-'));
const flags = extra.filter((a) => a.startsWith('-'));
const avaArgs = ['ava', '--tap', ...flags, ...(globs.length ? globs : DEFAULT_GLOBS)];
process.stdout.write(`run.mjs: npx ${avaArgs.join(' ')}\n`);

let passed = 0;
let failed = 0;
let skipped = 0;
let bailedOut = false;
let pending = '';
function consume(line) {
  // Only top-level TAP test points; YAML diagnostics are indented.
  const m = /^(not ok|ok)\b(?:\s+\d+)?(.*)$/.exec(line);
  if (m) {
    const directive = /#\s*(SKIP|TODO)\b/i.exec(m[2] ?? '');
    if (directive) skipped++;
    else if (m[1] === 'ok') passed++;
    else failed++;
  } else if (/^Bail out!/.test(line)) {
    bailedOut = true;
  }
}

const ava = spawn('npx', avaArgs, { stdio: ['ignore', 'pipe', 'inherit'] });
ava.stdout.setEncoding('utf8');
ava.stdout.on('data', (chunk) => {
  process.stdout.write(chunk);
  pending += chunk;
  const lines = pending.split('\n');
  pending = lines.pop() ?? '';
  for (const l of lines) consume(l);
});
const forward = (sig) => () => ava.kill(sig);
process.on('SIGINT', forward('SIGINT'));
process.on('SIGTERM', forward('SIGTERM'));

ava.on('close', (code, signal) => {
  if (pending) consume(pending);
  const problems = [];
  if (code !== 0) problems.push(`AVA exited with ${code ?? signal}`);
  if (bailedOut) problems.push('TAP bail out');
  if (passed + failed === 0) problems.push('zero tests ran');
  // Only mounts that appeared during this run and are the tests' (helper
  // names or a dead daemon); someone else's live mount is none of our business.
  const leftovers = unmountStale('left behind by this run', (mp) => !mountsBefore.has(mp));
  if (leftovers.length) problems.push(`tests left FUSE mounts behind: ${leftovers.join(', ')}`);
  for (const p of problems) process.stdout.write(`run.mjs: ${p}\n`);
  const ok = failed === 0 && problems.length === 0;
  process.stdout.write(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}\n`);
  process.exit(ok ? 0 : 1);
});
