// One FUSE connection: the read loop, INIT negotiation, the in-flight table,
// INTERRUPT, FORGET accounting hand-off, reply writes and notifications.
//
// Requests are served concurrently: each one runs as its own async task and
// replies whenever it finishes. Replies are written synchronously (a reply
// write never blocks on the kernel); notifications are written from the thread
// pool because INVAL_ENTRY/DELETE take a directory lock that a request we have
// not answered yet may hold.
import { availableParallelism } from 'node:os';
import { performance } from 'node:perf_hooks';
import * as abi from './abi.js';
import { InitFlag, Opcode, type InitFlagName } from './abi.js';
import { decode, encode } from './codec.js';
import { decodeBody, decodeHeader, ProtocolError, type AnyReq } from './protocol.js';
import { dispatch, type Handlers, type Outcome } from './dispatch.js';
import { isPromise } from '../../policies/maybe.js';
import * as R from './replies.js';
import { native } from '../native/index.js';
import { Errno, errnoName } from '../sys/errno.js';
import type { Logger } from '../sys/log.js';

export interface SessionConfig {
  maxWrite: number;
  /** Ask for FUSE passthrough if the kernel offers it. */
  passthrough: boolean;
  writebackCache: boolean;
  /** How /dev/fuse is read: on the event loop (poll, default) or by a reader thread. */
  reader?: 'poll' | 'thread';
  /** Microseconds the poll reader keeps reading after a burst before it sleeps (poll-spin). */
  pollSpinUs?: number;
  /** Let the kernel cache symlink targets (cache.symlinks). */
  cacheSymlinks?: boolean;
  /** Negotiate READDIRPLUS (readdirplus=auto or true). */
  readdirplus: boolean;
  /** Clear suid/sgid in the daemon (HANDLE_KILLPRIV_V2) instead of a GETXATTR before every write. */
  killprivV2: boolean;
  /** Ask the kernel to send GETLK/SETLK(W) (POSIX_LOCKS, FLOCK_LOCKS). */
  locks: boolean;
  maxBackground: number;
  congestionThreshold: number;
}

export interface Negotiated {
  minor: number;
  flags: bigint;
  maxWrite: number;
  passthrough: boolean;
  setxattrExt: boolean;
  has(flag: InitFlagName): boolean;
}

export interface SessionHooks {
  handlers: Handlers;
  /** FORGET and BATCH_FORGET: drop `nlookup` references from each node. */
  forget(items: ReadonlyArray<readonly [bigint, bigint]>): void;
  /** Called once INIT is answered, with what both sides agreed. */
  onInit?(n: Negotiated): void;
  /** The addon answered UNLINK(parent, name) (see native serveLookups): what JS keeps about the name goes. */
  unlinked?(parent: bigint, name: Buffer): void;
  /** The addon answered RELEASEDIR of a directory handle JS had taken over (served-dirs.ts): JS closes it. */
  releasedDir?(fh: bigint): void;
}

const bit = (name: InitFlagName): bigint => 1n << BigInt(InitFlag[name]);
/** onShared's slot for a request the addon answered itself (addon.c ANSWERED). */
const ANSWERED = -2;

interface InFlight {
  readonly op: number;
  /** Only for requests that can wait indefinitely (SETLKW); others finish on their own. */
  readonly abort: AbortController | undefined;
}

/** Never aborted: handed to requests that cannot block. Creating a controller per request is measurable. */
const NEVER = new AbortController().signal;

/** Requests served and time spent per opcode, from read to reply (for SIGUSR2 stats). */
export interface OpStats {
  count: number;
  /** Milliseconds, summed (performance.now: no BigInt per request). */
  totalMs: number;
}

export class Session {
  private readonly inflight = new Map<bigint, InFlight>();
  readonly stats = new Map<number, OpStats>();
  /** The same figures by opcode number, where the hot path updates them. */
  private readonly statsByOp: Array<OpStats | undefined> = [];
  private negotiated: Negotiated | undefined;
  private ended = false;
  private endResolve!: (errno: number) => void;
  /** Resolves with the errno that ended the connection (ENODEV on unmount). */
  readonly ended$: Promise<number>;

  constructor(
    readonly fd: number,
    private readonly config: SessionConfig,
    private readonly hooks: SessionHooks,
    private readonly log: Logger,
  ) {
    this.ended$ = new Promise((resolve) => (this.endResolve = resolve));
  }

  get info(): Negotiated | undefined {
    return this.negotiated;
  }

  get inFlightCount(): number {
    return this.inflight.size;
  }

  start(): void {
    // Room for the largest WRITE: in_header + write_in + max_write, plus slack.
    const bufsize = Math.max(abi.FUSE_MIN_READ_BUFFER, this.config.maxWrite + 8192);
    const onMessage = (buf: Buffer | null, errno: number): void => {
      if (buf) void this.onRequest(buf);
      else this.finish(errno);
    };
    // The poll reader reuses one buffer for small requests; their copy comes
    // from Node's buffer pool (no malloc, nothing for the GC to finalize).
    // Big ones arrive in a read slot, so a 1 MiB WRITE is not copied again;
    // the slot goes back to the reader once the request is answered.
    const onShared = (buf: Buffer | null, errno: number, len: number, slot: number): void => {
      if (!buf) return this.finish(errno);
      if (slot === ANSWERED) return this.afterAddonAnswered(buf.subarray(0, len));
      if (slot < 0) return void this.onRequest(Buffer.from(buf.subarray(0, len)));
      const pending = this.onRequest(buf.subarray(0, len));
      if (pending) void pending.finally(() => native.releaseReadSlot(slot));
      else native.releaseReadSlot(slot);
    };
    // The event loop reads /dev/fuse itself (one wake-up per request, no
    // hand-off between threads); the reader thread is the fallback.
    // Spinning only pays when the caller can run meanwhile, on another CPU.
    native.setPollSpin(availableParallelism() > 1 ? (this.config.pollSpinUs ?? 0) * 1000 : 0);
    let r = this.config.reader === 'thread' ? -1 : native.startPollReader(this.fd, bufsize, onShared);
    if (r < 0) r = native.startReader(this.fd, bufsize, onMessage);
    if (r < 0) throw new Error(`braidfs: could not start reading /dev/fuse (${errnoName(-r)})`);
  }

  /** A request the addon has answered (UNLINK, RELEASEDIR): only the bookkeeping is left. */
  private afterAddonAnswered(req: Buffer): void {
    const at = abi.InHeader.size;
    if (req.length <= at) return;
    const op = req.readUInt32LE(4) as Opcode;
    try {
      if (op === Opcode.UNLINK) {
        const nul = req.indexOf(0, at);
        this.hooks.unlinked?.(req.readBigUInt64LE(16), Buffer.from(req.subarray(at, nul < 0 ? req.length : nul)));
      } else if (op === Opcode.RELEASEDIR && req.length >= at + 8) {
        this.hooks.releasedDir?.(req.readBigUInt64LE(at));
      }
    } catch (e) {
      this.log.error(`bookkeeping of ${Opcode[op] ?? op} the addon answered: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  private finish(errno: number): void {
    if (this.ended) return;
    this.ended = true;
    for (const f of this.inflight.values()) f.abort?.abort();
    if (errno !== Errno.ENODEV) this.log.warn(`FUSE connection ended: ${errnoName(errno)}`);
    this.endResolve(errno);
  }

  /**
   * Never lets an exception escape into the reader: a request it cannot serve
   * gets EIO. Returns the request's promise while it is still being served.
   */
  private onRequest(buf: Buffer): Promise<void> | void {
    try {
      return this.serve(buf);
    } catch (e) {
      this.log.error(`request handling failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
      if (buf.length >= abi.InHeader.size) {
        const opcode = buf.readUInt32LE(4) as Opcode;
        if (opcode !== Opcode.FORGET && opcode !== Opcode.BATCH_FORGET) this.reply(buf.readBigUInt64LE(8), Errno.EIO, undefined);
      }
    }
  }

  private serve(buf: Buffer): Promise<void> | void {
    let h: ReturnType<typeof decodeHeader>;
    try {
      h = decodeHeader(buf);
    } catch {
      this.log.error(`dropped a request shorter than its header (${buf.length} bytes)`);
      return;
    }
    const op = h.opcode as Opcode;
    if (op === Opcode.INIT) return this.init(h.unique, buf);
    if (op === Opcode.INTERRUPT) return this.interrupt(h.unique, buf);
    if (op === Opcode.FORGET) {
      this.hooks.forget([[h.nodeid, decode(abi.ForgetIn, buf, abi.InHeader.size).nlookup]]);
      return;
    }
    if (op === Opcode.BATCH_FORGET) return this.batchForget(buf);
    if (op === Opcode.DESTROY) return this.reply(h.unique, 0, undefined);
    if (!this.negotiated) return this.reply(h.unique, Errno.EIO, undefined);

    // The request ends at `len`; extensions (total_extlen) sit after the
    // arguments, so they never disturb the NUL-terminated names we read.
    const end = Math.min(buf.length, h.len) - h.totalExtlen * 8;
    let body;
    try {
      body = decodeBody(op, buf, abi.InHeader.size, end, this.negotiated.setxattrExt);
    } catch (e) {
      if (!(e instanceof ProtocolError) && !(e instanceof RangeError)) throw e;
      this.log.error(`malformed ${Opcode[op] ?? op} request: ${e.message}`);
      return this.reply(h.unique, Errno.EIO, undefined);
    }
    if (body === undefined) return this.reply(h.unique, Errno.ENOSYS, undefined);
    const req = { op, h, ...body } as AnyReq;
    const abort = op === Opcode.SETLKW ? new AbortController() : undefined;
    const started = performance.now();
    const outcome = dispatch(this.hooks.handlers, req, abort?.signal ?? NEVER, this.log);
    if (!isPromise(outcome)) return this.answered(h.unique, op, outcome, started);
    // Only a request still running can be interrupted.
    this.inflight.set(h.unique, { op, abort });
    return outcome.then((o) => {
      this.inflight.delete(h.unique);
      this.answered(h.unique, op, o, started);
    });
  }

  private answered(unique: bigint, op: number, outcome: Outcome, started: number): void {
    this.reply(unique, outcome.errno, outcome.body);
    let st = this.statsByOp[op];
    if (!st) this.stats.set(op, (st = this.statsByOp[op] = { count: 0, totalMs: 0 }));
    st.count++;
    st.totalMs += performance.now() - started;
  }

  private batchForget(buf: Buffer): void {
    const { count } = decode(abi.BatchForgetIn, buf, abi.InHeader.size);
    const items: Array<readonly [bigint, bigint]> = [];
    let at = abi.InHeader.size + abi.BatchForgetIn.size;
    for (let i = 0; i < count && at + abi.ForgetOne.size <= buf.length; i++, at += abi.ForgetOne.size) {
      const one = decode(abi.ForgetOne, buf, at);
      items.push([one.nodeid, one.nlookup]);
    }
    this.hooks.forget(items);
  }

  private interrupt(unique: bigint, buf: Buffer): void {
    const target = decode(abi.InterruptIn, buf, abi.InHeader.size).unique;
    const f = this.inflight.get(target);
    if (f) {
      // The handler sees the signal; blocking ones (SETLKW) give up with EINTR.
      // Others finish quickly anyway and are answered normally.
      f.abort?.abort();
      return;
    }
    // Not seen yet (or already answered): ask the kernel to re-queue it. If it
    // was answered, the kernel says ENOENT, which reply() ignores.
    this.reply(unique, Errno.EAGAIN, undefined);
  }

  private init(unique: bigint, buf: Buffer): void {
    const inn = decode(abi.InitIn, buf, abi.InHeader.size);
    if (inn.major !== abi.FUSE_KERNEL_VERSION) {
      this.log.error(`kernel speaks FUSE ${inn.major}.${inn.minor}; braidfs needs major 7`);
      return this.reply(unique, Errno.EPROTO, undefined);
    }
    const offered = BigInt(inn.flags) | (inn.flags & (1 << InitFlag.INIT_EXT) ? BigInt(inn.flags2) << 32n : 0n);
    const c = this.config;
    let want =
      bit('ASYNC_READ') |
      bit('ATOMIC_O_TRUNC') |
      bit('EXPORT_SUPPORT') |
      bit('BIG_WRITES') |
      bit('PARALLEL_DIROPS') |
      bit('MAX_PAGES') |
      bit('INIT_EXT') |
      bit('SETXATTR_EXT') |
      bit('ASYNC_DIO') |
      // Pages the kernel caches are dropped when it sees mtime or size change on a getattr.
      bit('AUTO_INVAL_DATA') |
      // mmap keeps working on direct-I/O opens (cache.files=off), as with mergerfs's direct-io-allow-mmap.
      bit('DIRECT_IO_ALLOW_MMAP');
    if (c.cacheSymlinks) want |= bit('CACHE_SYMLINKS');
    // HANDLE_KILLPRIV_V2: the kernel stops asking GETXATTR
    // security.capability before every write and leaves clearing suid/sgid
    // to the daemon (ops/killpriv.ts).
    if (c.killprivV2) want |= bit('HANDLE_KILLPRIV_V2');
    if (c.readdirplus) want |= bit('DO_READDIRPLUS') | bit('READDIRPLUS_AUTO');
    if (c.locks) want |= bit('POSIX_LOCKS') | bit('FLOCK_LOCKS');
    // The kernel silently drops passthrough when writeback cache is on too.
    if (c.writebackCache) want |= bit('WRITEBACK_CACHE');
    else if (c.passthrough) want |= bit('PASSTHROUGH');
    const flags = want & offered;
    const minor = Math.min(abi.FUSE_KERNEL_MINOR_VERSION, inn.minor);
    const maxPages = Math.ceil(c.maxWrite / 4096);
    const out = Buffer.alloc(abi.InitOut.size);
    encode(
      abi.InitOut,
      {
        major: abi.FUSE_KERNEL_VERSION,
        minor,
        maxReadahead: inn.maxReadahead,
        flags: Number(flags & 0xffffffffn),
        flags2: Number(flags >> 32n),
        maxBackground: c.maxBackground,
        congestionThreshold: c.congestionThreshold,
        maxWrite: c.maxWrite,
        timeGran: 1,
        maxPages,
        // 1: backing files may live on ordinary filesystems, and a braidfs
        // mount can itself be an overlayfs layer.
        maxStackDepth: flags & bit('PASSTHROUGH') ? 1 : 0,
      },
      out,
    );
    const has = (f: InitFlagName): boolean => (flags & bit(f)) !== 0n;
    this.negotiated = {
      minor,
      flags,
      maxWrite: c.maxWrite,
      passthrough: has('PASSTHROUGH'),
      setxattrExt: has('SETXATTR_EXT'),
      has,
    };
    this.reply(unique, 0, out);
    this.hooks.onInit?.(this.negotiated);
  }

  /** Writes one reply. A vanished request (ENOENT: interrupted) is not an error. */
  reply(unique: bigint, errno: number, body: Buffer | undefined): void {
    if (this.ended) return;
    const r = native.reply(this.fd, unique, errno, body);
    if (r < 0 && -r !== Errno.ENOENT && -r !== Errno.ENODEV) this.log.error(`reply to ${unique} failed: ${errnoName(-r)}`);
  }

  private async notify(code: abi.NotifyCode, payload: Buffer): Promise<number> {
    if (this.ended || !this.negotiated) return Errno.ENOTCONN;
    const msg = Buffer.allocUnsafe(abi.OutHeader.size + payload.length);
    msg.writeUInt32LE(msg.length, 0);
    msg.writeInt32LE(code, 4);
    msg.writeBigUInt64LE(0n, 8);
    payload.copy(msg, abi.OutHeader.size);
    const r = await native.writeAsync(this.fd, msg);
    return r < 0 ? -r : 0;
  }

  /**
   * Drops the kernel's cached attributes of `nodeid`, and its page cache from
   * `off` for `len` bytes (len <= 0: to the end; off < 0: attributes only).
   * Resolves 0 or an errno; ENOENT means the kernel had nothing cached.
   */
  invalInode(nodeid: bigint, off = -1, len = 0): Promise<number> {
    return this.notify(abi.NotifyCode.INVAL_INODE, R.notifyInvalInode(nodeid, off, len));
  }

  /** Makes the next access to parent/name send a LOOKUP. */
  invalEntry(parent: bigint, name: Buffer, expireOnly = false): Promise<number> {
    return this.notify(abi.NotifyCode.INVAL_ENTRY, R.notifyInvalEntry(parent, name, expireOnly));
  }

  /** Tells the kernel parent/name (inode `child`) was deleted behind its back. */
  notifyDelete(parent: bigint, child: bigint, name: Buffer): Promise<number> {
    return this.notify(abi.NotifyCode.DELETE, R.notifyDelete(parent, child, name));
  }
}
