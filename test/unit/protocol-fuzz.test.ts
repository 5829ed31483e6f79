// Bad input never crashes the daemon: random request bodies for every opcode
// either decode or throw ProtocolError/RangeError, which the session turns
// into an EIO reply. Seeded, so a failure reproduces.
import test from 'ava';
import { Opcode } from '../../src/fuse/abi.js';
import { decodeBody, ProtocolError } from '../../src/fuse/protocol.js';

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0;
    return s / 2 ** 32;
  };
}

const opcodes = Object.values(Opcode).filter((v): v is number => typeof v === 'number');

test('decodeBody on random bytes: returns or throws only ProtocolError/RangeError', (t) => {
  const rand = rng(42);
  let decoded = 0;
  let refused = 0;
  for (const op of opcodes) {
    for (let i = 0; i < 400; i++) {
      const len = Math.floor(rand() * 160);
      const buf = Buffer.alloc(40 + len);
      for (let k = 40; k < buf.length; k++) buf[k] = rand() < 0.3 ? 0 : Math.floor(rand() * 256);
      for (const ext of [false, true]) {
        try {
          decodeBody(op, buf, 40, buf.length, ext);
          decoded++;
        } catch (e) {
          if (!(e instanceof ProtocolError) && !(e instanceof RangeError)) t.fail(`opcode ${Opcode[op]}: ${String(e)}`);
          refused++;
        }
      }
    }
  }
  t.true(decoded > 0 && refused > 0, `decoded ${decoded}, refused ${refused}`);
});

test('a WRITE whose size field claims more data than arrived is refused', (t) => {
  const buf = Buffer.alloc(40 + 40 + 10);
  buf.writeUInt32LE(4096, 40 + 16); // size
  t.throws(() => decodeBody(Opcode.WRITE, buf, 40, buf.length, false), { instanceOf: ProtocolError });
});

test('a SETXATTR whose value size exceeds the request is refused', (t) => {
  const name = Buffer.from('user.x\0');
  const buf = Buffer.concat([Buffer.alloc(40), Buffer.alloc(8), name, Buffer.from('ab')]);
  buf.writeUInt32LE(100, 40); // size
  t.throws(() => decodeBody(Opcode.SETXATTR, buf, 40, buf.length, false), { instanceOf: ProtocolError });
});
