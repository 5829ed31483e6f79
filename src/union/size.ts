// Byte sizes as mergerfs writes them: `minfreespace=4G`, `/mnt/a=RW,100M`.
//
// mergerfs (src/from_string.cpp, str::from for u64) reads a base-10 integer
// followed by at most one suffix, B/K/M/G/T in either case, each a power of
// 1024; no suffix means bytes. We accept exactly that, but stricter about
// trailing junk: mergerfs looks only at the first character after the digits,
// so it would take `4GB` or `4Gxyz` as 4G; we reject them, because a typo in a
// threshold is better reported at mount time than silently rounded.
// Sizes are JS numbers and must stay exact, so anything above 2^53-1 bytes
// (8 PiB) is an error rather than a silently imprecise value.

const UNITS = [
  ['T', 1024 ** 4],
  ['G', 1024 ** 3],
  ['M', 1024 ** 2],
  ['K', 1024],
] as const;

const FACTOR: Readonly<Record<string, number>> = { B: 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 };

const SIZE_RE = /^(\d+)([BKMGTbkmgt]?)$/;

const ACCEPTED = 'a non-negative integer number of bytes, optionally followed by one of B, K, M, G, T (powers of 1024, any case), e.g. 4G or 512M';

/** Bytes for a size string such as `4G`, `100m`, `512K`, `10B` or `4096`. Throws an Error naming the value otherwise. */
export function parseSize(value: string): number {
  const m = SIZE_RE.exec(value);
  const digits = m?.[1];
  if (m === null || digits === undefined) throw new Error(`invalid size '${value}': expected ${ACCEPTED}`);
  const suffix = (m[2] ?? '').toUpperCase();
  const bytes = Number(digits) * (suffix === '' ? 1 : (FACTOR[suffix] ?? 1));
  if (!Number.isSafeInteger(bytes)) throw new Error(`invalid size '${value}': larger than ${Number.MAX_SAFE_INTEGER} bytes`);
  return bytes;
}

/**
 * The shortest exact way to write a byte count, in the largest unit that
 * divides it (`4294967296` → `4G`, `1536` → `1536`). parseSize reads it back.
 */
export function formatSize(bytes: number): string {
  if (!Number.isSafeInteger(bytes) || bytes < 0) throw new RangeError(`formatSize: not a byte count: ${bytes}`);
  if (bytes === 0) return '0';
  for (const [suffix, factor] of UNITS) {
    if (bytes % factor === 0) return `${bytes / factor}${suffix}`;
  }
  return String(bytes);
}
