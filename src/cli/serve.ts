// The daemon proper: mount, serve until unmounted or signalled, clean up.
import { existsSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Config } from '../config/options.js';
import { mount, unmount, MS_NOATIME, MS_NODEV, MS_NOEXEC, MS_NOSUID, MS_RDONLY } from '../fuse/mount.js';
import { Session } from '../fuse/session.js';
import * as abi from '../fuse/abi.js';
import { Opcode } from '../fuse/abi.js';
import { enableTrace } from '../fuse/trace.js';
import { AddonServedIo, NOT_SERVED, addonServedStats } from '../fuse/served-io.js';
import { AddonLookups, NOT_SERVED_NAMES } from '../fuse/served-lookups.js';
import { AddonDirs } from '../fuse/served-dirs.js';
import { listingCalcCode } from '../union/inodecalc.js';
import { PlusAdvisor } from '../ops/plus-advisor.js';
import { closeDir, listingsReadSoFar } from '../ops/dir.js';
import { forgetUnlinkedName } from '../ops/remove.js';
import { native } from '../native/index.js';
import { forget, makeHandlers } from '../ops/index.js';
import { NO_NOTICES, type OpContext } from '../ops/context.js';
import { MemoryReturner } from '../sys/heap.js';
import { mountEntries } from '../sys/mountinfo.js';
import { mountDevice, pathDevice, setReadahead, type ReadaheadTarget } from '../sys/readahead.js';
import { Errno, FsError, errnoName } from '../sys/errno.js';
import type { Logger } from '../sys/log.js';
import { inlineSyscalls, isSlow, markSlow, setSyscallMode } from '../sys/fs.js';
import { slowReason } from '../union/branch-speed.js';
import { BranchSet } from '../union/branches.js';
import { ConfigStore } from '../config/store.js';
import { functionPolicies } from '../config/options.js';
import { waitForBranches } from './branch-wait.js';
import { reloadConfigFile } from './reload.js';
import { buildLayered, overlayInodes, prepareScratchDirs } from './layered-setup.js';
import { Pool } from '../union/pool.js';
import { HandleTable } from '../union/handles.js';
import { InodeTable } from '../union/inodes.js';
import { LockTable } from '../union/locks.js';
import { PassthroughTable, passthroughRefusal } from '../union/passthrough.js';
import { PageCachePolicy } from '../union/pagecache.js';

import { UsageError } from './usage-error.js';

export { UsageError };

function checkDir(what: string, p: string): string {
  let st;
  try {
    st = statSync(p);
  } catch (e) {
    const code = (e as { code?: string }).code ?? 'error';
    throw new UsageError(`${what} '${p}' is not accessible (${code})`);
  }
  if (!st.isDirectory()) throw new UsageError(`${what} '${p}' is not a directory`);
  return realpathSync(p);
}

/** A branch inside the mountpoint, or the reverse, would deadlock the daemon on its own mount. */
function checkNesting(source: string, mountpoint: string): void {
  const inside = (a: string, b: string): boolean => a === b || a.startsWith(b.endsWith('/') ? b : `${b}/`);
  if (inside(source, mountpoint)) throw new UsageError(`branch '${source}' is inside the mountpoint '${mountpoint}'; that would deadlock`);
  if (inside(mountpoint, source)) throw new UsageError(`mountpoint '${mountpoint}' is inside the branch '${source}'; that would deadlock`);
}

/** syscalls=auto: branches that may block for long get their syscalls on the thread pool. */
function markSlowBranches(branches: BranchSet, log: Logger): void {
  for (const b of branches.branches) {
    const why = slowReason(b.root);
    if (why === undefined) continue;
    markSlow(b.rootFd);
    log.info(`branch ${b.root} (${why}): its syscalls run on the thread pool, so it cannot stall the others`);
  }
}

/** Why the kernel did not agree to passthrough at INIT. */
function passthroughMissing(config: Readonly<Config>, writeback: boolean): string {
  if (writeback || config.cacheWriteback) return 'cache.writeback was asked for, and the kernel does not combine the writeback cache with passthrough';
  return 'the kernel did not offer FUSE passthrough (needs Linux >= 6.9 with CONFIG_FUSE_PASSTHROUGH)';
}

/** Without /dev/fuse nothing can mount; say what to do about it. */
function checkDevFuse(): void {
  if (!existsSync('/dev/fuse')) throw new UsageError('/dev/fuse is missing: load the fuse module (modprobe fuse), or give the container the device (--device /dev/fuse)');
}

/** A FUSE filesystem already on the mountpoint: mounting over it is almost always an fstab line run twice. */
function checkNotMounted(mountpoint: string): void {
  let info: string;
  try {
    info = readFileSync('/proc/self/mountinfo', 'utf8');
  } catch {
    return;
  }
  for (const e of mountEntries(info)) {
    if (e.mountpoint === mountpoint && e.fstype.startsWith('fuse')) throw new UsageError(`mountpoint '${mountpoint}' is busy: a ${e.fstype} filesystem is mounted there already (umount it first)`);
  }
}

/** Tells the kernel to drop every cached name, attribute and page of this mount. */
async function invalidateAll(session: Session, ctx: OpContext, log: Logger): Promise<void> {
  let entries = 0;
  let inodes = 0;
  for (const node of [...ctx.inodes.nodes()]) {
    for (const n of node.names) if ((await session.invalEntry(n.parent.id, n.name)) === 0) entries++;
    if ((await session.invalInode(node.id, 0, 0)) === 0) inodes++;
  }
  log.info(`SIGUSR1: invalidated ${entries} cached names and ${inodes} cached inodes`);
}

/**
 * readahead=KIB: on the mount's device and each branch's, once; what failed
 * is logged, and the mount goes on. Called after the INIT reply, from which
 * the kernel sets the mount's readahead (so a setting made earlier is lost).
 */
function applyReadahead(kib: number, mountpoint: string, branches: BranchSet, log: Logger): void {
  const targets: ReadaheadTarget[] = [{ what: 'the mount', dev: mountDevice(mountpoint) }];
  for (const b of branches.branches) {
    let dev: string | undefined;
    try {
      dev = pathDevice(b.root);
    } catch {
      dev = undefined;
    }
    targets.push({ what: b.root, dev });
  }
  const results = setReadahead(targets, kib);
  const set = results.flatMap((r) => (r.ok ? [`${r.what} (${r.bdi})`] : []));
  if (set.length) log.info(`readahead ${kib} KiB on ${set.join(', ')}`);
  for (const r of results) if (!r.ok) log.warn(`readahead: not set for ${r.what}: ${r.why}`);
}

/** The pool the ops serve, from one config snapshot: branches (reused when unchanged), policies, options. */
function buildPool(config: Readonly<Config>, branches: BranchSet): Pool {
  const funcs = functionPolicies(config);
  return new Pool(branches, (f) => funcs.get(f), {
    inodecalc: config.inodecalc,
    statfsTtlMs: config.cacheStatfs * 1000,
    statfs: config.statfs,
    statfsIgnore: config.statfsIgnore,
    ignorePathPreservingOnRename: config.ignorepponrename,
    moveOnEnospc: config.moveonenospc,
    linkExdev: config.linkExdev,
    renameExdev: config.renameExdev,
    mountpoint: config.mountpoint ?? '',
  });
}

function openBranches(config: Readonly<Config>, mountpoint: string, log: Logger): BranchSet {
  const branches = config.branches.map((b) => {
    if (b.unmatchedGlob) log.warn(`branch pattern '${b.fromGlob ?? b.path}' matched no directory`);
    const path = checkDir('branch', b.path);
    checkNesting(path, mountpoint);
    return { ...b, path };
  });
  try {
    return BranchSet.open(branches, config.minFreeSpace);
  } catch (e) {
    throw new UsageError(`cannot open a branch: ${e instanceof Error ? e.message : String(e)}`);
  }
}

export interface Served {
  /** Resolves with the process exit code once the filesystem is gone. */
  done: Promise<number>;
}

/**
 * Mounts and serves. `onReady` fires once the kernel's INIT is answered,
 * i.e. when the mount is usable.
 */
export async function serve(initial: Config, log: Logger, onReady: () => void): Promise<Served> {
  // Signal handlers first: a signal that arrives between mount(2) and the
  // end of set-up must not kill the daemon by default action (leaving a dead
  // mount behind). Until set-up is done they are remembered and run after.
  const signals = new Map<NodeJS.Signals, () => void>();
  const early: NodeJS.Signals[] = [];
  let mountedYet = false;
  for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP', 'SIGUSR1', 'SIGUSR2'] as const) {
    process.on(sig, () => {
      const h = signals.get(sig);
      if (h) h();
      // Nothing mounted yet (e.g. still waiting for branches): just go.
      else if (!mountedYet && (sig === 'SIGTERM' || sig === 'SIGINT')) process.exit(1);
      else early.push(sig);
    });
  }
  const mountpoint = checkDir('mountpoint', resolve(initial.mountpoint ?? '.'));
  checkDevFuse();
  checkNotMounted(mountpoint);
  const store = new ConfigStore({ ...initial, mountpoint, ...overlayInodes(initial, log) });
  const config = store.current;
  for (const name of config.ignored) log.info(`accepted and ignored: ${name}`);
  if (config.branchesMountTimeout > 0) {
    const missing = await waitForBranches(config.branches.map((b) => b.path), mountpoint, config.branchesMountTimeout, log);
    if (missing.length && config.branchesMountTimeoutFail) throw new UsageError(`branches not mounted after ${config.branchesMountTimeout}s: ${missing.join(', ')}`);
    if (missing.length) log.warn(`mounting anyway without waiting longer for: ${missing.join(', ')}`);
  }
  let branches = openBranches(config, mountpoint, log);
  const scratch = prepareScratchDirs(config, branches, mountpoint, log);
  const source = branches.branches.map((b) => b.root).join(':');
  // Files are created with exactly the mode the kernel sends (it has
  // applied the caller's umask already).
  process.umask(0);
  setSyscallMode(config.syscalls === 'pool' ? 'async' : 'sync');
  if (config.syscalls === 'auto') markSlowBranches(branches, log);
  // First free-space figures now, so a slow branch never makes a policy wait for them later.
  void branches.candidates();
  if (config.debug) enableTrace(log);

  const pool = buildPool(config, branches);
  const flags = (config.readOnly ? MS_RDONLY : 0) | (config.nosuid ? MS_NOSUID : 0) | (config.nodev ? MS_NODEV : 0) | (config.noexec ? MS_NOEXEC : 0) | (config.noatime ? MS_NOATIME : 0);
  let mounted;
  try {
    mounted = mount({ mountpoint, fsname: config.fsname ?? source, subtype: 'braidfs', flags, allowOther: config.allowOther && process.getuid?.() === 0, maxRead: config.maxWrite });
  } catch (e) {
    if (e instanceof FsError) {
      if (e.errno === Errno.EPERM) throw new UsageError(`not permitted to mount on '${mountpoint}' (run as root, in a user namespace, or install fusermount3)`);
      throw new UsageError(`cannot mount on '${mountpoint}': ${e.code} (${e.syscall ?? 'mount'})`);
    }
    throw e;
  }
  mountedYet = true;
  log.debug(`mounted ${source} on ${mountpoint} via ${mounted.via}`);
  let seenIgnored = new Set(config.ignored);

  const passthrough = new PassthroughTable(mounted.fd, config.passthroughIo !== 'off', log);
  // Say why up front when passthrough cannot work here, rather than at the first open.
  const refusal = config.passthroughIo !== 'off' ? passthroughRefusal() : undefined;
  if (refusal) passthrough.disable(refusal);
  const layered = config.overlay || config.cow ? buildLayered(config, () => branches, scratch, () => ctx) : undefined;
  // The poll reader answers some requests itself (READ/WRITE of qualifying
  // files, LOOKUPs of known names); a debug trace must see every request,
  // and the reader thread never looks.
  const addonServes = config.reader !== 'thread' && !config.debug;
  // LOOKUPs only when the answer is a plain search: a pool (no layers), the
  // ff getattr policy (the first branch that has the path, which the addon
  // repeats), and every branch served inline.
  const lookups =
    addonServes && !layered && inlineSyscalls() && ['ff', 'epff'].includes(pool.policy('getattr').name) && branches.branches.every((b) => !isSlow(b.rootFd))
      ? new AddonLookups()
      : undefined;
  const ctx: OpContext = {
    pool,
    control: store,
    inodes: new InodeTable(),
    handles: new HandleTable(),
    locks: new LockTable(),
    passthrough,
    passthroughIo: config.passthroughIo,
    timeouts: { entry: config.cacheEntry, attr: config.cacheAttr, negative: config.cacheNegativeEntry },
    cache: { files: config.cacheFiles, processNames: config.cacheFilesProcessNames, readdir: config.cacheReaddir, writeback: false },
    xattrs: { mode: config.xattr, securityCapability: config.securityCapability },
    pageCache: new PageCachePolicy(),
    log,
    daemonGid: process.getgid?.() ?? 0,
    ...(layered ? { layered } : {}),
    kernel: NO_NOTICES,
    servedIo: addonServes ? new AddonServedIo(layered?.override !== undefined) : NOT_SERVED,
    servedNames: lookups ?? NOT_SERVED_NAMES,
    plusAdvisor: new PlusAdvisor(config.readdirplus, () => (lookups ? native.servedFileLookups() : 0)),
  };
  if (lookups) {
    ctx.inodes.mirror = lookups;
    // UNLINK too while it is epall's (the default action policy): the addon repeats exactly that.
    const actionModes = Buffer.from(branches.branches.map((b) => (b.mode === 'RO' ? 2 : 1)));
    const unlinkModes = pool.policy('unlink').name === 'epall' ? actionModes : null;
    // GETXATTR security.capability as ops/xattr.ts answers it: ENODATA when switched off, else read where the getxattr search (ff) finds it.
    const capability = config.xattr === 'nosys' ? 0 : config.xattr === 'noattr' || !config.securityCapability ? 2 : ['ff', 'epff'].includes(pool.policy('getxattr').name) ? 1 : 0;
    lookups.start(branches.branches.map((b) => b.rootFd), config.cacheEntry, config.cacheAttr, config.cacheNegativeEntry, unlinkModes, capability);
    // OPENDIR of served directories, the end of their listings and RELEASEDIR too (served-dirs.ts).
    const dirs = new AddonDirs(branches.branches, (id) => (ctx.inodes.has(id) ? ctx.inodes.get(id) : undefined), listingCalcCode(config.inodecalc));
    ctx.handles.adopter = dirs;
    native.serveDirs(config.cacheReaddir ? abi.FOPEN_CACHE_DIR | abi.FOPEN_KEEP_CACHE : 0);
    ctx.plusAdvisor.attach(dirs);
    // SETATTR of owner, mode and times too, while those are epall's (the defaults): the addon repeats ops/attr.ts for them.
    if ((['chown', 'chmod', 'utimens'] as const).every((f) => pool.policy(f).name === 'epall')) native.serveSetattrs(actionModes);
  }
  // Options changed through /.braidfs take effect for the next request: a
  // new pool (and, for the branch list, new branch fds; the old ones close
  // once requests in flight are surely done with them).
  store.onChange((next, name) => {
    for (const n of next.ignored) if (!seenIgnored.has(n)) log.info(`accepted and ignored: ${n}`);
    seenIgnored = new Set(next.ignored);
    if (name === 'branches' || name === 'minfreespace' || name === 'config') {
      const old = branches;
      branches = openBranches(next, mountpoint, log);
      if (next.syscalls === 'auto') markSlowBranches(branches, log);
      setTimeout(() => old.close(), 30_000).unref();
    }
    // What the addon's lookups rely on (branches, policies, timeouts) may have changed.
    lookups?.stop();
    ctx.pool = buildPool(next, branches);
    ctx.timeouts = { entry: next.cacheEntry, attr: next.cacheAttr, negative: next.cacheNegativeEntry };
    if (!next.debug) log.setLevel(next.logLevel);
    ctx.cache = { ...ctx.cache, files: next.cacheFiles, processNames: next.cacheFilesProcessNames, readdir: next.cacheReaddir };
    ctx.xattrs = { mode: next.xattr, securityCapability: next.securityCapability };
    log.info(`option ${name} changed`);
  });
  const memory = new MemoryReturner();
  const session = new Session(
    mounted.fd,
    {
      maxWrite: config.maxWrite,
      passthrough: config.passthroughIo !== 'off',
      writebackCache: config.cacheWriteback,
      cacheSymlinks: config.cacheSymlinks,
      reader: config.reader === 'thread' ? 'thread' : 'poll',
      pollSpinUs: config.pollSpinUs,
      readdirplus: config.readdirplus !== 'false',
      killprivV2: config.handleKillprivV2,
      locks: config.locks === 'daemon',
      maxBackground: 64,
      congestionThreshold: 48,
    },
    {
      handlers: makeHandlers(ctx, { statx: config.statx, daemonLocks: config.locks === 'daemon' }),
      forget: (items) => {
        const before = ctx.inodes.size;
        forget(ctx, items);
        memory.forgot(before - ctx.inodes.size);
      },
      unlinked: (parent, name) => forgetUnlinkedName(ctx, parent, name),
      releasedDir: (fh) => closeDir(ctx, fh),
      onInit: (n) => {
        ctx.cache = { ...ctx.cache, writeback: n.has('WRITEBACK_CACHE') };
        if (config.passthroughIo !== 'off' && !n.passthrough) passthrough.disable(passthroughMissing(config, n.has('WRITEBACK_CACHE')));
        // After the INIT reply: the kernel sets the mount's readahead from it.
        if (config.readaheadKiB > 0) applyReadahead(config.readaheadKiB, mountpoint, branches, log);
        onReady();
      },
    },
    log,
  );
  ctx.kernel = { attrsChanged: (id) => void session.invalInode(id) };
  session.start();

  let stopping = false;
  const stop = (why: string): void => {
    if (stopping) return;
    stopping = true;
    log.info(`${why}: unmounting ${mountpoint}`);
    const r = unmount(mountpoint, mounted.via);
    if (r < 0 && -r !== Errno.EINVAL) log.warn(`unmount failed: ${errnoName(-r)}`);
    // If the kernel does not end the connection promptly (e.g. a lazy
    // unmount still in use), exit anyway; closing the fd aborts it.
    setTimeout(() => process.exit(0), 2000).unref();
  };
  signals.set('SIGTERM', () => stop('SIGTERM'));
  signals.set('SIGINT', () => stop('SIGINT'));
  // SIGHUP: the config file again; what can change at run time changes.
  signals.set('SIGHUP', () => reloadConfigFile(store, config.configFile, log));
  // SIGUSR1: forget everything the kernel cached (names, attributes, pages),
  // for when the source was changed behind the mount's back.
  signals.set('SIGUSR1', () => {
    ctx.layered?.layers.invalidate();
    void invalidateAll(session, ctx, log);
  });
  // SIGUSR2: one line of state, to see that memory follows the kernel's lookups.
  const listingCounts = (): string => {
    const { attributes, namesOnly, sampled } = ctx.plusAdvisor.counts();
    const byAddon = addonServedStats().find(([name]) => name === 'LISTING')?.[1].count ?? 0;
    return `${listingsReadSoFar() + byAddon}-read/${attributes}+attrs/${namesOnly}-names/${sampled}~sampled`;
  };
  signals.set('SIGUSR2', () => {
    log.info(`stats: nodes=${ctx.inodes.size} handles=${ctx.handles.size} inflight=${session.inFlightCount} passthrough=${passthrough.enabled ? 'on' : 'off'} rss=${Math.round(process.memoryUsage.rss() / 2 ** 20)}MiB heap=${Math.round(process.memoryUsage().heapUsed / 2 ** 20)}MiB gc=${memory.collections} listings=${listingCounts()}`);
    const byName = new Map([...session.stats].map(([op, st]) => [Opcode[op] ?? String(op), { ...st }]));
    const served = addonServedStats();
    for (const [name, st] of served) {
      const js = byName.get(name);
      byName.set(name, js ? { count: js.count + st.count, totalMs: js.totalMs + st.totalMs } : st);
    }
    const ops = [...byName].map(([name, st]) => `${name}=${st.count}/${((st.totalMs * 1000) / st.count).toFixed(0)}us`);
    log.info(`stats: requests (count/mean service time) ${ops.join(' ')}`);
    log.info(`stats: of those, answered in the addon: ${served.map(([name, st]) => `${name}=${st.count}`).join(' ') || 'none'}`);
    const [spins = 0, caught = 0] = native.pollSpinStats();
    log.info(`stats: poll-spin: ${spins} spins, ${caught} ended by a request`);
  });

  for (const sig of early) signals.get(sig)?.();
  early.length = 0;
  const done = session.ended$.then((errno) => (errno === Errno.ENODEV || stopping ? 0 : 1));
  return { done };
}
