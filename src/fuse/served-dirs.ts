// Directory handles the addon opens itself (addon.c "Directory handles
// opened here"). A walk opens, lists and closes every directory it meets;
// of the four requests that takes for a small directory only the listing
// needs JS. The addon answers OPENDIR of a directory it serves LOOKUPs for,
// the READDIR that finds the end of a listing, and RELEASEDIR; and it lists
// such a directory itself when the listing goes out names-only and has no
// subdirectory to give attributes to (PlusAdvisor allows it, and reads the
// addon's log of them), answering the later READDIRs from that listing.
// JS takes a handle over (its fd included) the first time it needs it, so
// the handle table stays the one place that knows a handle's listing.
import { native } from '../native/index.js';
import * as sys from '../sys/fs.js';
import type { Branch } from '../union/branches.js';
import type { DirAdopter, DirHandle } from '../union/handles.js';
import type { Node } from '../union/inodes.js';
import { PackedListing, type Listing } from '../union/listing.js';
import { listingSeeds } from '../union/inodecalc.js';
import type { ListingsElsewhere } from '../ops/plus-advisor.js';

/** The addon numbers its directory handles from here (addon.c ADDON_DIR_FH); JS's start at 1. */
export const ADDON_DIR_FH = 1n << 40n;

export class AddonDirs implements DirAdopter, ListingsElsewhere {
  /**
   * `branches`: the branch list the addon's branch indexes refer to (the one
   * serving started with; serving stops when it changes). `nodeOf`: the node
   * of an id the kernel still holds (it does while a handle is open).
   * `calc`: inodecalc's listing code, for the listings the addon makes.
   */
  constructor(
    private readonly branches: readonly Branch[],
    private readonly nodeOf: (id: bigint) => Node | undefined,
    private readonly calc: number,
  ) {}

  allow(on: boolean): void {
    native.serveListings(on, this.calc, listingSeeds(this.branches.map((b) => b.root)));
  }

  take(): BigUint64Array | null {
    return native.takeListings();
  }

  adopt(fh: bigint): { node: Node; branch: Branch; fd: number; listing: Listing | undefined } | undefined {
    if (fh < ADDON_DIR_FH) return undefined;
    const held = native.adoptDir(Number(fh));
    if (!held) return undefined;
    const [id, index, fd, packed] = held;
    const node = this.nodeOf(id);
    const branch = this.branches[index];
    if (node && branch) return { node, branch, fd, listing: packed && new PackedListing(packed, this.branches) };
    sys.closeQuietly(fd);
    return undefined;
  }

  heldFor(node: Node): bigint[] {
    return native.dirHandlesOf(node.id).map((fh) => BigInt(fh));
  }

  listingEnds(h: DirHandle, end: number | undefined): void {
    if (h.fh >= ADDON_DIR_FH) native.dirListingEnd(Number(h.fh), end ?? -1);
  }
}
