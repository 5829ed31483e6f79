import test from 'ava';
import { NameSet } from '../../src/union/nameset.js';

test('NameSet: a name is new once, byte for byte (non-UTF-8 included)', (t) => {
  const s = new NameSet();
  t.true(s.add(Buffer.from('a')));
  t.false(s.add(Buffer.from('a')));
  t.true(s.add(Buffer.from('A')));
  t.true(s.add(Buffer.from([0xff, 0xfe])));
  t.false(s.add(Buffer.from([0xff, 0xfe])));
  t.true(s.add(Buffer.from([0xff, 0xfe, 0x00])));
});

test('NameSet agrees with a Set of latin1 strings over many names (hash collisions compare bytes)', (t) => {
  const s = new NameSet();
  const ref = new Set<string>();
  // 200,000 names of 1-3 bytes: far more than 2^16, so 32-bit hash collisions are likely.
  let rnd = 12345;
  let disagreements = 0;
  const next = (): number => (rnd = (Math.imul(rnd, 1103515245) + 12345) >>> 0);
  for (let i = 0; i < 200_000; i++) {
    const len = 1 + ((next() >>> 16) % 3);
    const name = Buffer.from(Array.from({ length: len }, () => next() >>> 24));
    const key = name.toString('latin1');
    if (s.add(name) !== !ref.has(key)) disagreements++;
    ref.add(key);
  }
  t.is(disagreements, 0);
  t.true(ref.size > 100_000, 'enough distinct names for collisions');
});
