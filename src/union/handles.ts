// Open file and directory handles (the `fh` the kernel hands back to us).
import { Errno, FsError } from '../sys/errno.js';
import type { DirEntry } from '../sys/fs.js';

/** A directory entry of the union: the first branch (in list order) that has the name wins. */
export interface MergedEntry extends DirEntry {
  readonly branch: Branch;
  /** The directory's path on that branch, when it differs from the merged one (below an overlay redirect). */
  readonly dirRel?: Buffer;
}
import type { Branch } from './branches.js';
import type { Node } from './inodes.js';
import type { Listing } from './listing.js';

export interface FileHandle {
  readonly kind: 'file';
  readonly fh: bigint;
  readonly node: Node;
  /** The branch the file was opened on (moveonenospc may change it). */
  branch: Branch;
  fd: number;
  readonly flags: number;
  /** The kernel passthrough backing id this open uses, if any. */
  backingId: number;
}

export interface DirHandle {
  readonly kind: 'dir';
  readonly fh: bigint;
  readonly node: Node;
  /** The branch of `fd`: the first (in list order) that has the directory. */
  readonly branch: Branch;
  /** Open on that branch's directory, so it can still be stat'ed after rmdir. */
  readonly fd: number;
  /**
   * The merged listing, taken at the first READDIR and again when the kernel
   * rewinds to 0 after having read some (undefined until then). Cookies are indices into it, so they stay
   * valid for the life of the handle whatever happens meanwhile.
   */
  entries: Listing | undefined;
  served: boolean;
}

export type Handle = FileHandle | DirHandle;

/**
 * Directory handles opened outside the table (the addon answers OPENDIR of
 * known directories itself, fuse/served-dirs.ts), taken over at first use.
 */
export interface DirAdopter {
  /** Handle `fh` as the table is to keep it, owned by JS from now on; undefined when there is none. */
  adopt(fh: bigint): { node: Node; branch: Branch; fd: number; listing: Listing | undefined } | undefined;
  /** The fhs of such handles of `node` still held outside. */
  heldFor(node: Node): bigint[];
  /** The listing of handle `h` ends at offset `end` (undefined: the replies so far have not reached it). */
  listingEnds(h: DirHandle, end: number | undefined): void;
}

export class HandleTable {
  private next = 1n;
  /** Where directory handles the table did not open come from (none: every fh is the table's). */
  adopter: DirAdopter | undefined;
  private readonly handles = new Map<number, Handle>();
  /** Open handles per node, to reach files that lost their name and to count opens. */
  private readonly byNode = new Map<number, Set<Handle>>();

  private add<H extends Handle>(h: H): H {
    this.handles.set(Number(h.fh), h);
    let set = this.byNode.get(Number(h.node.id));
    if (!set) this.byNode.set(Number(h.node.id), (set = new Set()));
    set.add(h);
    return h;
  }

  addFile(node: Node, branch: Branch, fd: number, flags: number): FileHandle {
    return this.add<FileHandle>({ kind: 'file', fh: this.next++, node, branch, fd, flags, backingId: 0 });
  }

  addDir(node: Node, branch: Branch, fd: number): DirHandle {
    return this.add<DirHandle>({ kind: 'dir', fh: this.next++, node, branch, fd, entries: undefined, served: false });
  }

  file(fh: bigint): FileHandle {
    const h = this.handles.get(Number(fh));
    if (!h || h.kind !== 'file') throw new FsError(Errno.EBADF, 'fh');
    return h;
  }

  dir(fh: bigint): DirHandle {
    const h = this.handles.get(Number(fh)) ?? this.adopt(fh);
    if (!h || h.kind !== 'dir') throw new FsError(Errno.EBADF, 'fh');
    return h;
  }

  private adopt(fh: bigint): DirHandle | undefined {
    const held = this.adopter?.adopt(fh);
    // A listing made outside goes on here: its cookies are positions in it.
    return held && this.add<DirHandle>({ kind: 'dir', fh, node: held.node, branch: held.branch, fd: held.fd, entries: held.listing, served: held.listing !== undefined });
  }

  /** Takes over every handle of `node` held outside, so the node's open handles are all here. */
  private adoptAllOf(node: Node): void {
    for (const fh of this.adopter?.heldFor(node) ?? []) this.adopt(fh);
  }

  /** The listing of `h` ends at `end` (undefined: not reached yet), for whoever answers its READDIRs besides us. */
  listingEnds(h: DirHandle, end: number | undefined): void {
    this.adopter?.listingEnds(h, end);
  }

  /** Any open handle of this node (to reach a file that lost its names). */
  anyOpen(node: Node): Handle | undefined {
    this.adoptAllOf(node);
    const set = this.byNode.get(Number(node.id));
    if (!set) return undefined;
    for (const h of set) return h;
    return undefined;
  }

  /** Every open handle of a node. */
  openOf(node: Node): Handle[] {
    this.adoptAllOf(node);
    return [...(this.byNode.get(Number(node.id)) ?? [])];
  }

  openCount(node: Node): number {
    return this.byNode.get(Number(node.id))?.size ?? 0;
  }

  remove(fh: bigint): Handle | undefined {
    const h = this.handles.get(Number(fh));
    if (!h) return undefined;
    this.handles.delete(Number(fh));
    const set = this.byNode.get(Number(h.node.id));
    set?.delete(h);
    if (set?.size === 0) this.byNode.delete(Number(h.node.id));
    return h;
  }

  get size(): number {
    return this.handles.size;
  }
}
