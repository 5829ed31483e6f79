// Layout-driven encoding of the kernel's fixed-size structs.
//
// A layout lists fields in kernel order with their C types; offsets follow
// natural alignment exactly as the compiler lays out include/uapi/linux/fuse.h,
// and the total is asserted against the size the kernel expects when the
// module loads, so a typo in a layout fails at startup rather than on a
// live request. Numbers up to 2^53 travel as `number`; u64 ids and
// offsets that may exceed that (unique, nodeid, fh, lock owners) are bigint.

export type FieldType = 'u8' | 'u16' | 'u32' | 'i32' | 'u64' | 'i64' | 'n64' | `pad${number}`;
// u64/i64 decode to bigint; n64 is a u64 read as a JS number (sizes, offsets, times).

type Decoded<T extends FieldType> = T extends 'u64' | 'i64' ? bigint : number;

export interface Layout<F extends Record<string, FieldType>> {
  readonly name: string;
  readonly size: number;
  readonly fields: F;
  readonly offsets: { readonly [K in keyof F]: number };
  /** Straight-line decoder and encoder generated for this layout (see compile()). */
  readonly decodeAt: (buf: Buffer, at: number) => Struct<F>;
  readonly encodeAt: (value: Partial<Struct<F>>, buf: Buffer, at: number) => void;
}

const sizeOf = (t: FieldType): number => {
  switch (t) {
    case 'u8':
      return 1;
    case 'u16':
      return 2;
    case 'u32':
    case 'i32':
      return 4;
    case 'u64':
    case 'i64':
    case 'n64':
      return 8;
    default:
      return Number(t.slice(3));
  }
};

/** Defines a struct layout and asserts its size matches the kernel's. */
export function struct<F extends Record<string, FieldType>>(name: string, fields: F, expectedSize: number): Layout<F> {
  let off = 0;
  let maxAlign = 1;
  const offsets: Record<string, number> = {};
  for (const [key, type] of Object.entries(fields)) {
    const sz = sizeOf(type);
    const align = type.startsWith('pad') ? 1 : sz;
    off = Math.ceil(off / align) * align;
    offsets[key] = off;
    off += sz;
    maxAlign = Math.max(maxAlign, align);
  }
  const size = Math.ceil(off / maxAlign) * maxAlign;
  if (size !== expectedSize) throw new Error(`fuse abi: struct ${name} is ${size} bytes, the kernel expects ${expectedSize}`);
  const { decodeAt, encodeAt } = compile<F>(fields, offsets);
  return { name, size, fields, offsets: offsets as Layout<F>['offsets'], decodeAt, encodeAt };
}

const READERS: Record<string, (o: string) => string> = {
  u8: (o) => `b[${o}]`,
  u16: (o) => `b.readUInt16LE(${o})`,
  u32: (o) => `b.readUInt32LE(${o})`,
  i32: (o) => `b.readInt32LE(${o})`,
  u64: (o) => `b.readBigUInt64LE(${o})`,
  i64: (o) => `b.readBigInt64LE(${o})`,
  // Exact below 2^53, which is what n64 fields (sizes, offsets, times) promise.
  n64: (o) => `(b.readUInt32LE(${o}) + b.readUInt32LE(${o} + 4) * 4294967296)`,
};

const WRITERS: Record<string, (v: string, o: string) => string> = {
  u8: (v, o) => `b[${o}] = Number(${v});`,
  u16: (v, o) => `b.writeUInt16LE(Number(${v}), ${o});`,
  u32: (v, o) => `b.writeUInt32LE(Number(${v}) >>> 0, ${o});`,
  i32: (v, o) => `b.writeInt32LE(Number(${v}), ${o});`,
  u64: (v, o) => `w64(b, ${v}, ${o});`,
  n64: (v, o) => `w64(b, ${v}, ${o});`,
  i64: (v, o) => `b.writeBigInt64LE(BigInt.asIntN(64, BigInt(${v})), ${o});`,
};

/**
 * One straight-line function per layout, generated once at load. Requests
 * are decoded on every call, and a generic loop over the field table costs
 * a megamorphic property store per field; the generated decoder builds every
 * struct with one object literal (one hidden class), and the encoder writes
 * fixed offsets. The field names and types come from our own layout tables,
 * never from input.
 */
function compile<F extends Record<string, FieldType>>(fields: F, offsets: Record<string, number>): Pick<Layout<F>, 'decodeAt' | 'encodeAt'> {
  const props: string[] = [];
  const writes: string[] = [];
  for (const [key, type] of Object.entries(fields)) {
    if (type.startsWith('pad')) continue;
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) throw new Error(`fuse abi: bad field name ${key}`);
    const o = `at + ${offsets[key]!}`;
    props.push(`${key}: ${READERS[type]!(o)}`);
    writes.push(`if (v.${key} !== undefined) ${WRITERS[type]!(`v.${key}`, o)}`);
  }
  // eslint-disable-next-line @typescript-eslint/no-implied-eval -- generated from our own layout tables (checked above), never from input
  const decodeAt = new Function('b', 'at', `return { ${props.join(', ')} };`) as Layout<F>['decodeAt'];
  // eslint-disable-next-line @typescript-eslint/no-implied-eval, @typescript-eslint/no-unsafe-call -- as above
  const encodeAt = new Function('w64', `return function encode(v, b, at) { ${writes.join(' ')} };`)(writeU64) as Layout<F>['encodeAt'];
  return { decodeAt, encodeAt };
}

export type Struct<F extends Record<string, FieldType>> = { [K in keyof F as F[K] extends `pad${number}` ? never : K]: Decoded<F[K]> };

/** Decodes a struct at `at`; throws RangeError when the buffer is short. */
export function decode<F extends Record<string, FieldType>>(layout: Layout<F>, buf: Buffer, at = 0): Struct<F> {
  if (at + layout.size > buf.length) throw new RangeError(`fuse: ${layout.name} truncated (${buf.length - at} of ${layout.size} bytes)`);
  return layout.decodeAt(buf, at);
}

/** Encodes a struct into `buf` at `at` (the buffer must be zeroed for padding). */
export function encode<F extends Record<string, FieldType>>(layout: Layout<F>, value: Partial<Struct<F>>, buf: Buffer, at = 0): void {
  layout.encodeAt(value, buf, at);
}

/** Writes a JS number as a u64 without going through BigInt when it fits in 32 bits. */
export function writeU64(buf: Buffer, v: number | bigint, o: number): void {
  if (typeof v === 'number' && v >= 0 && v <= 0xffffffff) {
    buf.writeUInt32LE(v, o);
    buf.writeUInt32LE(0, o + 4);
  } else {
    buf.writeBigUInt64LE(BigInt.asUintN(64, BigInt(v)), o);
  }
}
