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
  return { name, size, fields, offsets: offsets as Layout<F>['offsets'] };
}

export type Struct<F extends Record<string, FieldType>> = { [K in keyof F as F[K] extends `pad${number}` ? never : K]: Decoded<F[K]> };

/** Decodes a struct at `at`; throws RangeError when the buffer is short. */
export function decode<F extends Record<string, FieldType>>(layout: Layout<F>, buf: Buffer, at = 0): Struct<F> {
  if (at + layout.size > buf.length) throw new RangeError(`fuse: ${layout.name} truncated (${buf.length - at} of ${layout.size} bytes)`);
  const out: Record<string, number | bigint> = {};
  for (const key in layout.fields) {
    const type = layout.fields[key]!;
    const o = at + layout.offsets[key];
    switch (type) {
      case 'u8':
        out[key] = buf[o]!;
        break;
      case 'u16':
        out[key] = buf.readUInt16LE(o);
        break;
      case 'u32':
        out[key] = buf.readUInt32LE(o);
        break;
      case 'i32':
        out[key] = buf.readInt32LE(o);
        break;
      case 'u64':
        out[key] = buf.readBigUInt64LE(o);
        break;
      case 'i64':
        out[key] = buf.readBigInt64LE(o);
        break;
      case 'n64':
        out[key] = Number(buf.readBigUInt64LE(o));
        break;
      default:
        break;
    }
  }
  return out as Struct<F>;
}

/** Encodes a struct into `buf` at `at` (the buffer must be zeroed for padding). */
export function encode<F extends Record<string, FieldType>>(layout: Layout<F>, value: Partial<Struct<F>>, buf: Buffer, at = 0): void {
  for (const key in layout.fields) {
    const type = layout.fields[key]!;
    const v = (value as Record<string, number | bigint | undefined>)[key];
    if (v === undefined) continue;
    const o = at + layout.offsets[key];
    switch (type) {
      case 'u8':
        buf[o] = Number(v);
        break;
      case 'u16':
        buf.writeUInt16LE(Number(v), o);
        break;
      case 'u32':
        buf.writeUInt32LE(Number(v) >>> 0, o);
        break;
      case 'i32':
        buf.writeInt32LE(Number(v), o);
        break;
      case 'u64':
      case 'n64':
        buf.writeBigUInt64LE(BigInt.asUintN(64, BigInt(v)), o);
        break;
      case 'i64':
        buf.writeBigInt64LE(BigInt.asIntN(64, BigInt(v)), o);
        break;
      default:
        break;
    }
  }
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
