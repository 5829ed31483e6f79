// Owner translation for overlay mode, with fuse-overlayfs's meanings
// (reference overlay.md §1.2): uidmapping/gidmapping shift ids between the
// layers ("inside") and the mount ("outside"); squash_to_* show every file
// with one owner and make chown a no-op.
import type { IdMapping } from '../config/overlay-args.js';
import type { IdMap } from '../ops/context.js';

/** What an id outside every mapping shows as (/proc/sys/kernel/overflowuid). */
export const OVERFLOW_ID = 65534;

function shift(maps: readonly IdMapping[], id: number, from: 'inside' | 'outside'): number | undefined {
  const to = from === 'inside' ? 'outside' : 'inside';
  for (const m of maps) if (id >= m[from] && id < m[from] + m.count) return m[to] + (id - m[from]);
  return undefined;
}

export interface IdMapSpec {
  uidmapping: readonly IdMapping[];
  gidmapping: readonly IdMapping[];
  squash: { toRoot: boolean; toUid?: number; toGid?: number };
}

export function makeIdMap(spec: IdMapSpec): IdMap {
  const { uidmapping, gidmapping, squash } = spec;
  const squashUid = squash.toUid ?? (squash.toRoot ? 0 : undefined);
  const squashGid = squash.toGid ?? (squash.toRoot ? 0 : undefined);
  const identity = uidmapping.length === 0 && gidmapping.length === 0 && squashUid === undefined && squashGid === undefined;
  return {
    identity,
    show: (uid, gid) => ({
      uid: squashUid ?? (uidmapping.length ? (shift(uidmapping, uid, 'inside') ?? OVERFLOW_ID) : uid),
      gid: squashGid ?? (gidmapping.length ? (shift(gidmapping, gid, 'inside') ?? OVERFLOW_ID) : gid),
    }),
    store: (uid, gid) => {
      if (squashUid !== undefined || squashGid !== undefined) return undefined;
      return {
        uid: uid === -1 || !uidmapping.length ? uid : (shift(uidmapping, uid, 'outside') ?? OVERFLOW_ID),
        gid: gid === -1 || !gidmapping.length ? gid : (shift(gidmapping, gid, 'outside') ?? OVERFLOW_ID),
      };
    },
  };
}
