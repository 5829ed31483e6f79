// -d: one line per request and per reply, as a diagnostics_channel subscriber
// so that nothing is formatted when tracing is off.
import { Opcode } from './abi.js';
import type { AnyReq } from './protocol.js';
import { replyChannel, requestChannel, type Outcome } from './dispatch.js';
import type { Logger } from '../sys/log.js';

function show(v: unknown): string {
  if (Buffer.isBuffer(v)) {
    const s = v.length > 64 ? `${v.subarray(0, 64).toString('latin1')}…(${v.length})` : v.toString('latin1');
    return JSON.stringify(s);
  }
  return String(v);
}

const SKIP = new Set(['op', 'h', 'data', 'value']);

export function describe(req: AnyReq): string {
  const parts = [`${req.h.unique}`, Opcode[req.op] ?? String(req.op), `node=${req.h.nodeid}`];
  for (const [k, v] of Object.entries(req)) if (!SKIP.has(k) && typeof v !== 'object' || Buffer.isBuffer(v)) if (!SKIP.has(k)) parts.push(`${k}=${show(v)}`);
  if ('data' in req) parts.push(`len=${req.data.length}`);
  parts.push(`uid=${req.h.uid}`, `pid=${req.h.pid}`);
  return parts.join(' ');
}

export function enableTrace(log: Logger): void {
  requestChannel.subscribe((m) => log.info(`> ${describe(m as AnyReq)}`));
  replyChannel.subscribe((m) => {
    const { req, outcome, errname } = m as { req: AnyReq; outcome: Outcome; errname: string };
    log.info(`< ${req.h.unique} ${Opcode[req.op] ?? req.op} ${errname}${outcome.body ? ` ${outcome.body.length}B` : ''}`);
  });
}
