// poll-spin: after answering, the event-loop reader keeps reading /dev/fuse
// for a while before it sleeps, so a caller that makes one request after
// another finds the daemon awake. Checked by what it changes: how often the
// daemon's main thread goes to sleep (voluntary context switches) per
// request, while a separate process stats names one after another; and that
// the spin is bounded: an idle mount burns no CPU, whatever the setting.
import test from 'ava';
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { withMount, type Mounted } from '../helpers/mount.js';
import { countsOfStatsLine, run, sleep, waitFor } from './util.js';

const STATS = 3000;

/** The daemon's main thread: voluntary context switches, and CPU ticks (user + system) of the whole process. */
function daemonCounters(m: Mounted): { switches: number; ticks: number } {
  const status = readFileSync(`/proc/${m.pid}/task/${m.pid}/status`, 'latin1');
  const switches = Number(/^voluntary_ctxt_switches:\s*(\d+)/m.exec(status)?.[1]);
  const fields = readFileSync(`/proc/${m.pid}/stat`, 'latin1').split(') ')[1]!.split(' ');
  return { switches, ticks: Number(fields[11]) + Number(fields[12]) };
}

/** Sleeps of the daemon per request while another process stats STATS names one by one (every stat is a LOOKUP: cache.entry=0). */
async function sleepsPerRequest(t: Parameters<typeof withMount>[0], spinUs: number): Promise<{ perRequest: number; idleTicks: number }> {
  const m = await withMount(t, { options: ['cache.entry=0', 'cache.attr=60', `poll-spin=${spinUs}`] });
  mkdirSync(m.src('d'));
  for (let i = 0; i < 100; i++) writeFileSync(m.src('d', `f${i}`), '');
  const script = `import os\nfor k in range(${STATS}): os.stat('${m.path('d')}/f%d' % (k % 100))`;
  const before = daemonCounters(m);
  const r = await run('python3', ['-c', script], { timeoutMs: 120_000 });
  t.is(r.code, 0, r.stderr);
  const after = daemonCounters(m);
  // Idle: the spin only follows requests, so it is over within a millisecond.
  await sleep(300);
  const idleStart = daemonCounters(m);
  await sleep(2000);
  const idleEnd = daemonCounters(m);
  return { perRequest: (after.switches - before.switches) / STATS, idleTicks: idleEnd.ticks - idleStart.ticks };
}

test('poll-spin=1000 (1 ms): the daemon mostly stays awake between one caller\'s requests; poll-spin=0: it sleeps several times as often; idle, neither uses CPU', async (t) => {
  t.timeout(240_000);
  const spinning = await sleepsPerRequest(t, 1000);
  const sleeping = await sleepsPerRequest(t, 0);
  t.log(`daemon sleeps per request: poll-spin=1000 ${spinning.perRequest.toFixed(2)}, poll-spin=0 ${sleeping.perRequest.toFixed(2)}; idle CPU over 2 s: ${spinning.idleTicks} and ${sleeping.idleTicks} ticks`);
  // Alone on the machine the daemon sleeps about twice per request without
  // spinning; beside other test files it is often still busy when the next
  // request comes (0.51 and 0.24 seen in full runs), so the floor only says
  // the measurement sees sleeps at all, and the comparison is the test.
  t.true(sleeping.perRequest > 0.1, 'without spinning the daemon sleeps between requests');
  t.true(spinning.perRequest < sleeping.perRequest / 3, 'spinning keeps it awake for the next request');
  // 2 s idle: a spin that did not stop would show ~200 ticks.
  t.true(spinning.idleTicks <= 10, `idle CPU with poll-spin=1000: ${spinning.idleTicks} ticks in 2 s`);
  t.true(sleeping.idleTicks <= 10);
});

/** Each SIGUSR2 stats report so far: requests by opcode (all, JS and addon), and the poll-spin counters. */
function statsReports(log: string): Array<{ requests: Map<string, number>; spins: number; caught: number }> {
  const re = /stats: requests \(count\/mean service time\)([^\n]*)\n[\s\S]*?poll-spin: (\d+) spins, (\d+) ended by a request/g;
  return [...log.matchAll(re)].map((x) => ({
    requests: countsOfStatsLine(x[1]!),
    spins: Number(x[2]),
    caught: Number(x[3]),
  }));
}

const total = (m: Map<string, number>): number => [...m.values()].reduce((a, b) => a + b, 0);

test('poll-spin does not spin after a big WRITE (its caller needs longer than a spin to copy the next block, so spinning would only take CPU from it and from writeback); it still spins after small requests', async (t) => {
  t.timeout(240_000);
  const m = await withMount(t, { options: ['passthrough.io=off', 'poll-spin=1000', 'cache.entry=0', 'cache.attr=0'] });
  const blocks = 256;
  // The writer takes the daemon's stats right before and after its 1 MiB
  // writes (after its open, so the spins of small requests stay outside).
  const writer = [
    'import mmap, os, signal, sys, time',
    'pid, path = int(sys.argv[1]), sys.argv[2]',
    'fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o644)',
    'time.sleep(0.05)',
    'os.kill(pid, signal.SIGUSR2); time.sleep(0.5)',
    // Page-aligned, like dd's: with direct I/O (cache.files=off) an
    // unaligned 1 MiB buffer spans 257 pages and goes as two WRITEs.
    'buf = mmap.mmap(-1, 1 << 20)',
    `for _ in range(${blocks}): os.write(fd, buf)`,
    'os.kill(pid, signal.SIGUSR2); time.sleep(0.5)',
    'os.close(fd)',
  ].join('\n');
  const w = await run('python3', ['-c', writer, String(m.pid), m.path('big')], { timeoutMs: 120_000 });
  t.is(w.code, 0, w.stderr);
  t.true(await waitFor(() => statsReports(m.log()).length >= 2, 10_000), m.log());
  const [before, after] = statsReports(m.log()).slice(-2) as [ReturnType<typeof statsReports>[0], ReturnType<typeof statsReports>[0]];
  const writes = (after.requests.get('WRITE') ?? 0) - (before.requests.get('WRITE') ?? 0);
  t.is(writes, blocks, 'one WRITE per block');
  // Each write may also bring a small request first (the kernel asks for
  // security.capability before it lets a write keep suid bits); a spin after
  // that one is right: the WRITE follows at once.
  const small = total(after.requests) - total(before.requests) - writes;
  const spins = after.spins - before.spins;
  t.log(`during ${writes} 1 MiB WRITEs and ${small} other requests: ${spins} spins`);
  // A 1 ms spin after each WRITE would add ~${blocks} (the next request comes well within 1 ms).
  t.true(spins <= small + 5, 'no spin after a big WRITE');

  // Small requests one after another: the spin is still there, and catches them.
  const stats = `import os\nfor k in range(500): os.stat('${m.path('big')}')`;
  const r = await run('python3', ['-c', stats], { timeoutMs: 120_000 });
  t.is(r.code, 0, r.stderr);
  process.kill(m.pid, 'SIGUSR2');
  t.true(await waitFor(() => statsReports(m.log()).length >= 3, 10_000), m.log());
  const last = statsReports(m.log()).at(-1)!;
  t.log(`during 500 stats: ${last.spins - after.spins} spins, ${last.caught - after.caught} ended by a request`);
  // Alone on the machine nearly every stat begins a spin (about 3 per stat:
  // LOOKUP, GETATTR, ...). Beside a loaded CPU the next request is often
  // already waiting when the daemon looks, which needs no spin (8 to 33
  // spins seen), so this only shows spinning is still on for small requests;
  // the test above measures what it does.
  t.true(last.spins - after.spins > 0, 'small requests still begin spins');
  t.true(last.caught - after.caught > 0, 'and a next request ends them');
});
