// A set of file names (raw bytes), for merging directory listings.
//
// A listing of 50,000 names over two branches checks every name once; a Set
// of strings would first turn each name into a JS string (a call into C++
// and an allocation per name). Here a name is hashed in JS (FNV-1a, 32 bits)
// and only a hash collision compares bytes.

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

function hashName(name: Uint8Array): number {
  let h = FNV_OFFSET;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name[i]!, FNV_PRIME);
  return h >>> 0;
}

export class NameSet {
  /** hash → the name, or every name with that hash. */
  private readonly byHash = new Map<number, Buffer | Buffer[]>();

  /** Adds `name`; false when it was already there. */
  add(name: Buffer): boolean {
    const h = hashName(name);
    const there = this.byHash.get(h);
    if (there === undefined) {
      this.byHash.set(h, name);
      return true;
    }
    if (Array.isArray(there)) {
      if (there.some((n) => n.equals(name))) return false;
      there.push(name);
      return true;
    }
    if (there.equals(name)) return false;
    this.byHash.set(h, [there, name]);
    return true;
  }
}
