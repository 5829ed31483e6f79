// Setting up overlay mode and copy-on-write pools at mount: scratch
// directories (emptied: leftovers of copy-ups a crash interrupted), the
// layer view, the copy-up engine and the id map.
import { statSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../config/options.js';
import type { Layered, OpContext } from '../ops/context.js';
import { writableTarget } from '../ops/layered.js';
import type { Logger } from '../sys/log.js';
import type { BranchSet } from '../union/branches.js';
import { CopyUp } from '../union/copyup.js';
import { makeIdMap } from '../union/idmap.js';
import { Layers } from '../union/layers.js';
import { OverrideStat } from '../union/override-stat.js';
import { prepareScratch, sameFilesystem, SCRATCH_NAME, type Scratch } from '../union/scratch.js';
import { UsageError } from './usage-error.js';

/**
 * Overlay layers on several filesystems could show one inode number twice;
 * a hash of (layer, inode) keeps numbers unique and stable across remounts.
 * On one filesystem the layers' own numbers are used (as the kernel does).
 */
export function overlayInodes(config: Readonly<Config>, log: Logger): Partial<Config> {
  if (!config.overlay || config.inodecalc !== 'passthrough') return {};
  let devs: Set<number>;
  try {
    devs = new Set(config.branches.map((b) => statSync(b.path).dev));
  } catch {
    return {}; // a missing layer: opening the branches reports it, clearly
  }
  if (devs.size <= 1) return {};
  log.info('the layers are on different filesystems: inode numbers are hashed (inodecalc=devino-hash)');
  return { inodecalc: 'devino-hash' };
}

/** Scratch directory per writable branch index: WORKDIR/work for an overlay, BRANCH/.braidfs-work for a cow pool. */
export function prepareScratchDirs(config: Readonly<Config>, branches: BranchSet, mountpoint: string, log: Logger): Map<number, Scratch> {
  const out = new Map<number, Scratch>();
  const o = config.overlay;
  const want: Array<{ index: number; path: string }> = [];
  if (o) {
    const upper = branches.branches.find((b) => b.mode === 'RW');
    if (upper && o.workdir !== undefined) {
      let ok: boolean;
      try {
        ok = sameFilesystem(o.workdir, upper.root);
      } catch (e) {
        throw new UsageError(`workdir '${o.workdir}' is not accessible (${(e as { code?: string }).code ?? 'error'})`);
      }
      if (!ok) throw new UsageError(`workdir '${o.workdir}' and upperdir '${upper.root}' must be on the same filesystem`);
      if (o.workdir === mountpoint || o.workdir.startsWith(`${mountpoint}/`)) throw new UsageError(`workdir '${o.workdir}' is inside the mountpoint; that would deadlock`);
      want.push({ index: upper.index, path: join(o.workdir, 'work') });
    }
  } else if (config.cow) {
    for (const b of branches.branches) if (b.mode !== 'RO') want.push({ index: b.index, path: join(b.root, SCRATCH_NAME.toString()) });
  }
  for (const w of want) {
    let s: Scratch;
    try {
      s = prepareScratch(w.path);
    } catch (e) {
      throw new UsageError(`cannot prepare the scratch directory '${w.path}': ${e instanceof Error ? e.message : String(e)}`);
    }
    if (s.cleaned) log.info(`removed ${s.cleaned} leftover(s) of interrupted copy-ups in ${w.path}`);
    out.set(w.index, s);
  }
  return out;
}

export function buildLayered(config: Readonly<Config>, branches: () => BranchSet, scratch: ReadonlyMap<number, Scratch>, ctx: () => OpContext): Layered {
  const root = process.getuid?.() === 0;
  const layers = new Layers(branches, {
    mknodWhiteouts: root && !process.env.FUSE_OVERLAYFS_DISABLE_OVL_WHITEOUT,
    xattrNamespace: root ? 'trusted' : 'user',
  });
  const copyUp = new CopyUp({
    layers,
    target: (parentRel) => writableTarget(ctx(), parentRel),
    scratch: (b) => scratch.get(b.index)?.fd,
  });
  const o = config.overlay;
  return {
    layers,
    copyUp,
    overlay: o !== undefined,
    fsync: o?.fsync ?? true,
    staticNlink: o?.staticNlink ?? false,
    ids: makeIdMap(o ?? { uidmapping: [], gidmapping: [], squash: { toRoot: false } }),
    override: o && o.xattrPermissions !== 0 ? new OverrideStat(o.xattrPermissions) : undefined,
    noxattrs: o?.noxattrs ?? false,
  };
}
