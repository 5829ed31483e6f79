// readdirplus=auto: whether the first READDIRPLUS batch of a listing carries
// attributes.
//
// With READDIRPLUS_AUTO the kernel asks for attributes with the first batch
// of every listing, and with later batches only once a child was looked up.
// Attributes cost the daemon a stat and a node per name, and the kernel an
// inode and later a FORGET, which pays off only if the reader then stats
// the names (ls -l, du). A walk that needs only names and types (find,
// fts with d_type) pays for all of it and uses none: on this machine find
// over 200,000 files took 0.6 s with attributes and 0.25 s without.
//
// The daemon cannot see whether attributes it sent get used (the kernel
// answers those stats from its cache), but it can see the opposite case: a
// names-only listing whose names are then looked up one by one. So some
// listings go out names-only as samples, and the share of their non-directory
// names that were looked up before the next listing decides the mode:
// - while walks use attributes, one listing in SAMPLE_EVERY is a sample: it
//   carries attributes except for one non-directory name in SPARSE. A whole
//   listing names-only would cost a stat walk a LOOKUP round trip per name of
//   that directory (du over 111,000 files: twice as long as with
//   readdirplus=true); an eighth of them costs little;
// - while they do not, every listing is names-only (and so a sample), and the
//   first one whose names get stat'ed switches attributes back on.
// Directories do not count: a walk looks up the ones it descends into either
// way. A reply with attributes always goes out when the kernel asks for a
// later batch with attributes, since it does so only after children of that
// directory were looked up.

import type { ReaddirplusMode } from '../config/options.js';

/** While attributes are on, every SAMPLE_EVERY-th listing is a sample, to check they are still wanted. */
const SAMPLE_EVERY = 32;
/** In such a sample, one non-directory name in SPARSE goes out without attributes. */
export const SPARSE = 8;
/** A sample is judged once it listed this many names that are not directories (walks stat all of what they list, or none). */
const ENOUGH_NAMES = 4;
/** Directories in one sample at most; a walk of directories holding only directories tells nothing. */
const MOST_DIRS = 64;

interface Sample {
  /** The directories listed names-only in this sample (node ids). */
  readonly dirs: Set<bigint>;
  /** Names that are not directories listed without attributes. */
  listed: number;
  /** Of those, looked up since (by JS, below one of `dirs`). */
  used: number;
  /** The addon's count of LOOKUPs of non-directories when the sample began (names it serves were looked up before). */
  readonly servedAtStart: number;
}

/** How a listing goes out: with attributes, names only, or with attributes but for one name in SPARSE. */
export type ListingKind = 'attributes' | 'names' | 'sampled';

/**
 * Names-only listings made outside JS (the addon lists directories whose
 * handles it opened, fuse/served-dirs.ts), allowed while every listing would
 * go out names-only anyway, and reported after the fact.
 */
export interface ListingsElsewhere {
  /** Lets names-only listings be made there (true) or not. */
  allow(on: boolean): void;
  /** The listings made there since the last call, [dir, non-directory names, servedFileLookups() then] each; null: none. */
  take(): BigUint64Array | null;
}

export class PlusAdvisor {
  /** Running estimate of the share of listed names that get looked up (starts low: a fresh mount lists names only). */
  private demand = 0;
  private listings = 0;
  private sample: Sample | undefined;
  private decided = { attributes: 0, namesOnly: 0, sampled: 0 };

  constructor(
    readonly mode: ReaddirplusMode,
    /** The addon's count of non-directory LOOKUPs it answered (native.servedFileLookups). */
    private readonly servedFileLookups: () => number,
  ) {}

  /** Where names-only listings are also made, and whether they are allowed there now. */
  private elsewhere: ListingsElsewhere | undefined;
  private allowed = false;

  /** Names-only listings may be made in `elsewhere` too, whenever this advisor would list names only. */
  attach(elsewhere: ListingsElsewhere): void {
    this.elsewhere = elsewhere;
    this.allowed = !this.namesOnlyNow();
    this.updateElsewhere();
  }

  /** At the first batch of a listing of directory `dir`: how it goes out. */
  listingFor(dir: bigint): ListingKind {
    this.catchUp();
    if (this.mode !== 'auto') return this.mode === 'true' ? 'attributes' : 'names';
    this.judge(this.servedFileLookups());
    const kind: ListingKind = this.demand < 0.5 ? 'names' : ++this.listings % SAMPLE_EVERY === 0 ? 'sampled' : 'attributes';
    this.updateElsewhere();
    if (kind === 'attributes') {
      this.decided.attributes++;
      return kind;
    }
    this.addToSample(dir, kind, this.servedFileLookups());
    return kind;
  }

  /** A batch went out with `n` names that are not directories without attributes (names-only, or left out of a sample). */
  listedNamesOnly(n: number): void {
    if (this.sample) this.sample.listed += n;
  }

  /** JS looked up a non-directory below `parent`. */
  lookedUp(parent: bigint): void {
    this.catchUp();
    if (this.sample?.dirs.has(parent)) this.sample.used++;
  }

  /** For the stats line: listings sent with attributes, names-only, and as sparse samples. */
  counts(): { attributes: number; namesOnly: number; sampled: number } {
    this.catchUp();
    return { ...this.decided };
  }

  private namesOnlyNow(): boolean {
    return this.mode === 'false' || (this.mode === 'auto' && this.demand < 0.5);
  }

  private updateElsewhere(): void {
    const on = this.namesOnlyNow();
    if (this.elsewhere && on !== this.allowed) this.elsewhere.allow((this.allowed = on));
  }

  private addToSample(dir: bigint, kind: 'names' | 'sampled', servedNow: number): void {
    if (kind === 'names') this.decided.namesOnly++;
    else this.decided.sampled++;
    this.sample ??= { dirs: new Set(), listed: 0, used: 0, servedAtStart: servedNow };
    this.sample.dirs.add(dir);
  }

  /**
   * Takes in the listings made elsewhere since the last look, in the order
   * they were made, as if each had come through listingFor and
   * listedNamesOnly (each was names-only: one allowed only while that is
   * what listingFor would say).
   */
  private catchUp(): void {
    const log = this.elsewhere?.take();
    if (!log) return;
    // readdirplus=false: nothing to learn (listingFor keeps no counts for it either).
    if (this.mode !== 'auto') return;
    for (let k = 0; k + 2 < log.length; k += 3) {
      const servedThen = Number(log[k + 2]!);
      this.judge(servedThen);
      this.addToSample(log[k]!, 'names', servedThen);
      this.listedNamesOnly(Number(log[k + 1]!));
    }
    this.updateElsewhere();
  }

  /** Closes the current sample into the estimate once it holds enough names (servedNow: the addon's count of file lookups now). */
  private judge(servedNow: number): void {
    const s = this.sample;
    if (!s) return;
    if (s.listed < ENOUGH_NAMES) {
      if (s.dirs.size >= MOST_DIRS) this.sample = undefined;
      return;
    }
    // Names the addon answered count too: they were looked up earlier and are now stat'ed again.
    const used = Math.min(s.listed, s.used + servedNow - s.servedAtStart);
    // Mostly the latest sample: a walk changes its kind at once (du after find).
    this.demand = 0.25 * this.demand + 0.75 * (used / s.listed);
    this.sample = undefined;
  }
}
