// Small helpers shared by the integration tests (not a test file itself).
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  /** The process exited but something it left behind kept stdout/stderr open for > 1 s. */
  pipesHeldOpen: boolean;
  ms: number;
}

export interface RunOptions {
  /** SIGKILL the process after this long (default 60 s). */
  timeoutMs?: number;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
}

/** Runs a command to completion without blocking the event loop; never rejects. */
export function run(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(cmd, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(opts.cwd !== undefined ? { cwd: opts.cwd } : {}),
      ...(opts.env !== undefined ? { env: opts.env } : {}),
    });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    let settled = false;
    let grace: NodeJS.Timeout | undefined;
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (d: string) => (stdout += d));
    child.stderr.on('data', (d: string) => (stderr += d));
    const finish = (code: number | null, signal: NodeJS.Signals | null, pipesHeldOpen: boolean, extra = ''): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (grace) clearTimeout(grace);
      if (pipesHeldOpen) {
        child.stdout.destroy();
        child.stderr.destroy();
      }
      resolve({ code, signal, stdout, stderr: stderr + extra, timedOut, pipesHeldOpen, ms: Date.now() - started });
    };
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, opts.timeoutMs ?? 60_000);
    child.on('error', (e) => finish(null, null, false, String(e)));
    child.on('exit', (code, signal) => {
      grace = setTimeout(() => finish(code, signal, true), 1000);
    });
    child.on('close', (code, signal) => finish(code, signal, false));
  });
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `pred` every 20 ms; true if it held before the deadline. */
export async function waitFor(pred: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (pred()) return true;
    if (Date.now() > deadline) return false;
    await sleep(20);
  }
}

export function sha256(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}

export function sha256File(path: string): string {
  return sha256(readFileSync(path));
}

/** True while a process with this pid exists (zombies count as gone for callers that reaped them). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

// ---- `-d` trace parsing -------------------------------------------------
// A request line contains ` > <unique> <OPNAME> node=<nodeid>`, its reply
// ` < <unique> <OPNAME> <OK|ERRNAME>`; anything before or after is ignored.

export interface TraceRequest {
  unique: string;
  op: string;
  node: string;
}

export interface TraceReply {
  unique: string;
  op: string;
  result: string;
}

const reqRe = /(?:^|\s)>\s+(\d+)\s+([A-Z][A-Z0-9_]*)\s+node=(\w+)/;
const repRe = /(?:^|\s)<\s+(\d+)\s+([A-Z][A-Z0-9_]*)\s+([A-Z][A-Z0-9_]*)\b/;

export function parseTrace(log: string): { requests: TraceRequest[]; replies: TraceReply[] } {
  const requests: TraceRequest[] = [];
  const replies: TraceReply[] = [];
  for (const line of log.split('\n')) {
    const q = reqRe.exec(line);
    if (q) {
      requests.push({ unique: q[1]!, op: q[2]!, node: q[3]! });
      continue;
    }
    const r = repRe.exec(line);
    if (r) replies.push({ unique: r[1]!, op: r[2]!, result: r[3]! });
  }
  return { requests, replies };
}

/** Log lines that are not request/reply trace lines. */
export function nonTraceLines(log: string): string[] {
  return log.split('\n').filter((l) => l.trim() !== '' && !reqRe.test(l) && !repRe.test(l));
}

/** Lines saying passthrough is unavailable / being fallen back from. */
export function passthroughFallbackLines(log: string): string[] {
  return nonTraceLines(log).filter(
    (l) => /passthrough/i.test(l) && /(unavailable|not available|unsupported|not supported|fall(s|ing)? ?back|disabl|EPERM|permission|userspace|user space)/i.test(l),
  );
}

// Files on a mount are read and written by child processes with a timeout:
// a synchronous call from this worker on a mount whose daemon stopped
// answering would block the event loop, and with it every timeout and teardown.
export async function readMount(p: string): Promise<string> {
  const r = await run('cat', ['--', p], { timeoutMs: 10_000 });
  if (r.code !== 0) throw new Error(`cat ${p}: ${r.timedOut ? 'timed out' : r.stderr}`);
  return r.stdout;
}

export async function writeMount(p: string, data: string): Promise<void> {
  const r = await run('sh', ['-c', 'printf %s "$1" > "$0"', p, data], { timeoutMs: 10_000 });
  if (r.code !== 0) throw new Error(`write ${p}: ${r.timedOut ? 'timed out' : r.stderr}`);
}

/** The daemon's per-opcode request counts, from its SIGUSR2 stats line. */
export async function requestCounts(m: { pid: number; log(): string }): Promise<Map<string, number>> {
  const before = m.log().length;
  process.kill(m.pid, 'SIGUSR2');
  // The whole line: stderr may arrive in pieces.
  const whole = /stats: requests[^\n]*\n/;
  await waitFor(() => whole.test(m.log().slice(before)), 5000);
  return countsOfStatsLine(whole.exec(m.log().slice(before))?.[0] ?? '');
}

/** The per-opcode counts of a "stats: requests" line (OP=count/mean). */
export function countsOfStatsLine(line: string): Map<string, number> {
  return new Map([...line.matchAll(/([A-Z_0-9]+)=(\d+)\//g)].map((x) => [x[1]!, Number(x[2])]));
}

/** What the addon answered, by opcode (LOOKUP, GETATTR, UNLINK, ...), from the daemon's SIGUSR2 stats line. */
export async function addonAnswered(m: { pid: number; log(): string }): Promise<Map<string, number>> {
  const before = m.log().length;
  process.kill(m.pid, 'SIGUSR2');
  const whole = /answered in the addon:([^\n]*)\n/;
  if (!(await waitFor(() => whole.test(m.log().slice(before)), 10_000))) throw new Error(`no stats line:\n${m.log()}`);
  return new Map([...whole.exec(m.log().slice(before))![1]!.matchAll(/([A-Z]+)=(\d+)/g)].map((x) => [x[1]!, Number(x[2])]));
}
