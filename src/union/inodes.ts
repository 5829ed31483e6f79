// The node table: FUSE nodeids ↔ names in the tree, with lookup counts.
//
// A node is one file as the kernel sees it. Nodes are keyed by an identity
// (for the loopback, the backing st_dev:st_ino) so that hard links share one
// nodeid, as they share one inode on a plain filesystem; the kernel then
// keeps nlink, the page cache and passthrough state per file, not per name.
// A node may have several names; any live one serves to reach it. Paths are
// rebuilt from the parent chain, so renaming a directory moves its whole
// subtree for free.
//
// Lookup counts follow the kernel's contract: every reply that hands out a
// nodeid adds one; FORGET subtracts; at zero the node is dropped. The root
// is never forgotten. Nodeids are never reused (a 64-bit counter), so the
// generation is always 0.
import { Errno, FsError } from '../sys/errno.js';

export interface NodeName {
  parent: Node;
  name: Buffer;
}

export interface Node {
  readonly id: bigint;
  /** Identity key (undefined for the root). */
  key: string | undefined;
  /** File type bits (mode & S_IFMT) at first lookup; a change means a new node. */
  readonly type: number;
  nlookup: number;
  /** Known names, the first is used to build paths. Empty: unlinked. */
  names: NodeName[];
}

/**
 * Someone else that answers LOOKUPs of names this table knows (the FUSE
 * transport's native fast path). The table stays the one owner of lookup
 * counts: it collects what the mirror answered before applying a FORGET,
 * and whenever a name leaves a node.
 */
export interface NameMirror {
  /** Lookups of parent/name answered elsewhere since last asked. */
  lookupsSince(parent: bigint, name: Buffer): number;
  /** parent/name no longer belongs to its node: forget it; returns its uncounted lookups. */
  gone(parent: bigint, name: Buffer): number;
}

const NO_MIRROR: NameMirror = { lookupsSince: () => 0, gone: () => 0 };

const nameKey = (parent: bigint, name: Buffer): string => `${Number(parent)}/${name.toString('latin1')}`;

// Node ids are handed out from 2 upwards, far below 2^53: maps key them as
// numbers, which hash much faster than bigints (every request looks one up).
const k = (id: bigint): number => Number(id);

export class InodeTable {
  private nextId = 2n;
  private readonly byId = new Map<number, Node>();
  private readonly byName = new Map<string, Node>();
  private readonly byKey = new Map<string, Node>();
  readonly root: Node;
  /** Set once by the transport; until then no one else answers lookups. */
  mirror: NameMirror = NO_MIRROR;

  constructor() {
    this.root = { id: 1n, key: undefined, type: 0o040000, nlookup: 1, names: [] };
    this.byId.set(k(1n), this.root);
  }

  get size(): number {
    return this.byId.size;
  }

  get(id: bigint): Node {
    const n = this.byId.get(k(id));
    if (!n) throw new FsError(Errno.ESTALE, 'nodeid', String(id));
    return n;
  }

  /** Every node the kernel currently holds. */
  nodes(): IterableIterator<Node> {
    return this.byId.values();
  }

  has(id: bigint): boolean {
    return this.byId.has(k(id));
  }

  /** A node with no name (O_TMPFILE), counted once. */
  rememberAnonymous(key: string, type: number): Node {
    // Keyed, so that a later LINK (linkat of /proc/self/fd/N) that gives it a
    // name finds this same node.
    const node: Node = { id: this.nextId++, key, type, nlookup: 1, names: [] };
    this.byId.set(k(node.id), node);
    this.byKey.set(key, node);
    return node;
  }

  child(parent: Node, name: Buffer): Node | undefined {
    return this.byName.get(nameKey(parent.id, name));
  }

  /**
   * Records that parent/name is the file `key` of type `type`, and counts one
   * lookup. Returns the node (existing for a known identity, else new).
   */
  remember(parent: Node, name: Buffer, key: string, type: number): Node {
    const nk = nameKey(parent.id, name);
    let node = this.byKey.get(key);
    if (node && node.type !== type) {
      // Same inode number, different type: the old file is gone and its
      // number was reused. Never hand the kernel a type change on one nodeid.
      this.byKey.delete(key);
      node.key = undefined;
      node = undefined;
    }
    const prev = this.byName.get(nk);
    if (prev && prev !== node) this.detachName(prev, parent, name);
    if (!node) {
      node = { id: this.nextId++, key, type, nlookup: 0, names: [] };
      this.byId.set(k(node.id), node);
      this.byKey.set(key, node);
    }
    if (!node.names.some((n) => n.parent === parent && n.name.equals(name))) {
      node.names.push({ parent, name: Buffer.from(name) });
      this.byName.set(nk, node);
    }
    node.nlookup++;
    return node;
  }

  /** FORGET: drop `count` lookups; the node goes away at zero. */
  forget(id: bigint, count: number): void {
    const node = this.byId.get(k(id));
    if (!node || node === this.root) return;
    // Lookups answered elsewhere count before the kernel forgets them.
    for (const n of node.names) node.nlookup += this.mirror.lookupsSince(n.parent.id, n.name);
    node.nlookup -= count;
    if (node.nlookup > 0) return;
    if (node.nlookup < 0) node.nlookup = 0; // the kernel never over-forgets; tolerate it
    for (const n of node.names) {
      this.byName.delete(nameKey(n.parent.id, n.name));
      this.mirror.gone(n.parent.id, n.name);
    }
    node.names = [];
    if (node.key !== undefined && this.byKey.get(node.key) === node) this.byKey.delete(node.key);
    this.byId.delete(k(id));
  }

  /** parent/name no longer exists (unlink, rmdir, or replaced by rename). */
  removeName(parent: Node, name: Buffer): Node | undefined {
    const node = this.byName.get(nameKey(parent.id, name));
    if (node) this.detachName(node, parent, name);
    return node;
  }

  private detachName(node: Node, parent: Node, name: Buffer): void {
    this.byName.delete(nameKey(parent.id, name));
    node.nlookup += this.mirror.gone(parent.id, name);
    node.names = node.names.filter((n) => !(n.parent === parent && n.name.equals(name)));
    // A file with no known name may still be open; keep the node for the
    // kernel, but let a new file that reuses its inode number get a new one.
    if (node.names.length === 0 && node.key !== undefined && this.byKey.get(node.key) === node) {
      this.byKey.delete(node.key);
      node.key = undefined;
    }
  }

  /** rename(2) bookkeeping, after the rename succeeded on disk. */
  rename(oldParent: Node, oldName: Buffer, newParent: Node, newName: Buffer): void {
    const moving = this.byName.get(nameKey(oldParent.id, oldName));
    const replaced = this.byName.get(nameKey(newParent.id, newName));
    if (moving && moving === replaced) {
      // Renaming one hard link onto another link of the same file: POSIX says
      // nothing happens, and nothing did.
      return;
    }
    if (replaced) this.detachName(replaced, newParent, newName);
    if (!moving) return;
    this.byName.delete(nameKey(oldParent.id, oldName));
    moving.nlookup += this.mirror.gone(oldParent.id, oldName);
    for (const n of moving.names) {
      if (n.parent === oldParent && n.name.equals(oldName)) {
        n.parent = newParent;
        n.name = Buffer.from(newName);
      }
    }
    this.byName.set(nameKey(newParent.id, newName), moving);
  }

  /** RENAME_EXCHANGE bookkeeping: the two names swap files (which keep their identities). */
  exchange(aParent: Node, aName: Buffer, bParent: Node, bName: Buffer): void {
    const aKey = nameKey(aParent.id, aName);
    const bKey = nameKey(bParent.id, bName);
    const a = this.byName.get(aKey);
    const b = this.byName.get(bKey);
    if (a === b) return; // two links of one file: nothing observable changes
    if (a) a.nlookup += this.mirror.gone(aParent.id, aName);
    if (b) b.nlookup += this.mirror.gone(bParent.id, bName);
    const move = (node: Node | undefined, fromParent: Node, fromName: Buffer, toParent: Node, toName: Buffer): void => {
      if (!node) return;
      for (const n of node.names) {
        if (n.parent === fromParent && n.name.equals(fromName)) {
          n.parent = toParent;
          n.name = Buffer.from(toName);
          return;
        }
      }
    };
    move(a, aParent, aName, bParent, bName);
    move(b, bParent, bName, aParent, aName);
    if (a) this.byName.set(bKey, a);
    else this.byName.delete(bKey);
    if (b) this.byName.set(aKey, b);
    else this.byName.delete(aKey);
  }

  /**
   * The node's path relative to the tree root, as bytes ('' for the root).
   * Throws ENOENT for a node that has no name left (unlinked).
   */
  path(node: Node): Buffer {
    if (node === this.root) return EMPTY;
    const parts: Buffer[] = [];
    let cur: Node = node;
    for (let depth = 0; cur !== this.root; depth++) {
      const name = depth > 4096 ? undefined : this.liveName(cur);
      if (!name) throw new FsError(Errno.ENOENT, 'path');
      parts.push(name.name);
      cur = name.parent;
    }
    if (parts.length === 1) return parts[0]!;
    const out: Buffer[] = [];
    for (let i = parts.length - 1; i >= 0; i--) {
      out.push(parts[i]!);
      if (i > 0) out.push(SLASH);
    }
    return Buffer.concat(out);
  }

  /**
   * A name of `node` whose parent the kernel still holds. A parent can be
   * forgotten while a child keeps a name under it: the kernel swapped the
   * parent's dentry for another node (a directory that moved branch after a
   * rename) and dropped the old one with its children's dentries, while the
   * child was looked up again under the new parent. Such names are dead;
   * the first live one is moved to the front so the next walk is direct.
   */
  private liveName(node: Node): NodeName | undefined {
    const first = node.names[0];
    if (first === undefined || this.isLive(first.parent)) return first;
    const i = node.names.findIndex((n) => this.isLive(n.parent));
    if (i < 0) return first; // nothing better: keep the old behaviour (the walk goes on and fails if truly gone)
    const live = node.names[i]!;
    node.names.splice(i, 1);
    node.names.unshift(live);
    return live;
  }

  private isLive(n: Node): boolean {
    return n === this.root || (this.byId.get(k(n.id)) === n && n.names.length > 0);
  }

  /** The path of parent/name, relative to the tree root. */
  childPath(parent: Node, name: Buffer): Buffer {
    const p = this.path(parent);
    return p.length === 0 ? name : Buffer.concat([p, SLASH, name]);
  }
}

const EMPTY = Buffer.alloc(0);
const SLASH = Buffer.from('/');
