// LOOKUPs the addon answers itself (addon.c "Names served here"): a name JS
// has looked up before, found again by the getattr search on the same branch
// as the same file, is answered without JS. Most LOOKUPs are that: a stat of
// a path whose dentry expired (cache.entry) finds the same file again.
//
// JS registers each name as it hands it to the kernel (context.remember) and
// keeps the lookup counts: the node table collects what the addon answered
// before it applies a FORGET and whenever a name leaves a node (NameMirror).
// The addon verifies branch, st_dev, st_ino and type on every answer, so a
// stale entry costs a trip to JS, never a wrong reply.
import { native } from '../native/index.js';
import type { Stat } from '../sys/fs.js';
import type { Branch } from '../union/branches.js';
import type { NameMirror, Node } from '../union/inodes.js';

/** What context.remember tells the transport about a name it hands out. */
export interface ServedNames {
  /** parent/name is `node`, found at `rel` on `b` with `st`, shown with st_ino `shownIno`. */
  add(parent: Node, name: Buffer, node: Node, b: Branch, rel: Buffer, st: Stat, shownIno: bigint): void;
  /**
   * The same for every name of a READDIRPLUS reply of directory `rel` made
   * by native.readdirPlusSync (`info` its per-entry facts), entry k being
   * nodes[k] (undefined: sent without attributes).
   */
  addListed(parent: Node, rel: Buffer, reply: Buffer, info: BigUint64Array, nodes: ReadonlyArray<Node | undefined>): void;
}

export const NOT_SERVED_NAMES: ServedNames = { add: () => undefined, addListed: () => undefined };

export class AddonLookups implements ServedNames, NameMirror {
  private on = false;

  /**
   * Answers from now on, searching these branches (root fds in list order);
   * with `unlinkModes` (the action policy is epall), UNLINKs as well, and
   * GETXATTR security.capability as `capability` says (native.serveLookups).
   */
  start(branchFds: readonly number[], entrySec: number, attrSec: number, negativeSec: number, unlinkModes: Buffer | null, capability: 0 | 1 | 2): void {
    this.on = native.serveLookups(branchFds, entrySec, attrSec, negativeSec, unlinkModes, capability) === 0;
  }

  /** The branches or the timeouts changed: JS answers every LOOKUP from now on (counts are still collected). */
  stop(): void {
    native.serveLookups(null);
    // Directory handles given out stay served (served-dirs.ts); no new ones.
    native.serveDirs(-1);
    this.on = false;
  }

  add(parent: Node, name: Buffer, node: Node, b: Branch, rel: Buffer, st: Stat, shownIno: bigint): void {
    if (!this.on || rel.length === 0) return;
    const r = native.serveName(parent.id, name, node.id, rel, b.index, st.dev, st.ino, st.mode & 0o170000, shownIno);
    // An entry for the same name and node, replaced: its lookups are this node's.
    if (r > 0) node.nlookup += r;
  }

  addListed(parent: Node, rel: Buffer, reply: Buffer, info: BigUint64Array, nodes: ReadonlyArray<Node | undefined>): void {
    if (!this.on || rel.length === 0) return;
    native.serveListedNames(parent.id, rel, reply, reply.length, info);
    nodes.forEach((node, k) => {
      if (node) node.nlookup += Number(info[3 * k]);
    });
  }

  lookupsSince(parent: bigint, name: Buffer): number {
    return native.takeLookups(parent, name, false);
  }

  gone(parent: bigint, name: Buffer): number {
    return native.takeLookups(parent, name, true);
  }
}
