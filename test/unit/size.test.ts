import test from 'ava';
import { formatSize, parseSize } from '../../src/union/size.js';

const K = 1024;
const M = K * K;
const G = M * K;
const T = G * K;

test('parseSize: plain numbers are bytes', (t) => {
  t.is(parseSize('0'), 0);
  t.is(parseSize('1'), 1);
  t.is(parseSize('4096'), 4096);
  t.is(parseSize('007'), 7);
});

test('parseSize: B/K/M/G/T suffixes are powers of 1024, in either case', (t) => {
  t.is(parseSize('10B'), 10);
  t.is(parseSize('10b'), 10);
  t.is(parseSize('1K'), K);
  t.is(parseSize('1k'), K);
  t.is(parseSize('512M'), 512 * M);
  t.is(parseSize('512m'), 512 * M);
  t.is(parseSize('4G'), 4 * G);
  t.is(parseSize('4g'), 4 * G);
  t.is(parseSize('2T'), 2 * T);
  t.is(parseSize('2t'), 2 * T);
  t.is(parseSize('0G'), 0);
});

test('parseSize: the largest exact value is accepted, one more unit is not', (t) => {
  t.is(parseSize(String(Number.MAX_SAFE_INTEGER)), Number.MAX_SAFE_INTEGER);
  t.is(parseSize('8191T'), 8191 * T);
  t.throws(() => parseSize('8192T'), { message: /'8192T'.*larger than/ });
  t.throws(() => parseSize('99999999999999999999'), { message: /larger than/ });
});

test('parseSize: invalid values name the value and the accepted forms', (t) => {
  for (const bad of ['', 'G', '4GB', '4 G', ' 4G', '4G ', '-1', '+1', '1.5G', '4X', '0x10', '1e3', '4KiB', 'four']) {
    const e = t.throws(() => parseSize(bad), undefined, `should reject '${bad}'`);
    t.true(e?.message.includes(`'${bad}'`), `message names the value: ${e?.message}`);
    t.regex(e?.message ?? '', /B, K, M, G, T/);
  }
});

test('formatSize: the largest unit that divides exactly', (t) => {
  t.is(formatSize(0), '0');
  t.is(formatSize(1), '1');
  t.is(formatSize(1000), '1000');
  t.is(formatSize(1536), '1536');
  t.is(formatSize(K), '1K');
  t.is(formatSize(3 * K), '3K');
  t.is(formatSize(1536 * K), '1536K');
  t.is(formatSize(100 * M), '100M');
  t.is(formatSize(4 * G), '4G');
  t.is(formatSize(1024 * G), '1T');
  t.is(formatSize(10 * T), '10T');
  t.is(formatSize(T + 1), String(T + 1));
});

test('formatSize: rejects what is not a byte count', (t) => {
  for (const bad of [-1, 1.5, NaN, Infinity, Number.MAX_SAFE_INTEGER + 1]) {
    t.throws(() => formatSize(bad), { instanceOf: RangeError });
  }
});

test('formatSize and parseSize round-trip', (t) => {
  for (const n of [0, 1, 7, 1023, K, K + 1, 5 * M, 4 * G, 3 * G + K, 2 * T, Number.MAX_SAFE_INTEGER]) {
    t.is(parseSize(formatSize(n)), n, String(n));
  }
});
