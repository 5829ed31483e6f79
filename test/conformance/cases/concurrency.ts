// Conformance cases: concurrency.
import * as fs from 'node:fs';
import { join } from 'node:path';
import {
  dedent,
  py,
} from '../util.js';
import { type Case } from './shared.js';

export const concurrencyCases: Record<string, Case> = {
  // -- concurrency ----------------------------------------------------------------------------
  'multi-process': async (root) => {
    fs.mkdirSync(join(root, 'shared'));
    const P = 8;
    const N = 200;
    const worker = dedent(`
      i = int(sys.argv[1]); N = int(sys.argv[2])
      d = 'p%d' % i
      os.mkdir(d)
      def payload(j):
          return ('%d:%d;' % (i, j) * (j % 13 + 1)).encode()
      for j in range(N):
          with open('%s/f%d' % (d, j), 'wb') as f:
              f.write(payload(j))
      bad = [j for j in range(N) if open('%s/f%d' % (d, j), 'rb').read() != payload(j)]
      for j in range(0, N, 2):
          os.rename('%s/f%d' % (d, j), '%s/r%d' % (d, j))
      for j in range(0, N, 4):
          os.unlink('%s/r%d' % (d, j))
      for j in range(1, N, 10):
          os.rename('%s/f%d' % (d, j), 'shared/p%d-%d' % (i, j))
      won = []
      for k in range(20):
          try:
              fd = os.open('shared/race-%d' % k, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
              os.write(fd, str(i).encode())
              os.close(fd)
              won.append(k)
          except FileExistsError:
              pass
      fd = os.open('shared/log', os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
      for j in range(50):
          os.write(fd, ('%d:%d\\n' % (i, j)).encode())
      os.close(fd)
      for j in range(3):
          os.mkdir('shared/dir-%d-%d' % (i, j))
          os.rmdir('shared/dir-%d-%d' % (i, j))
      R = {'bad': bad, 'won': won}
    `);
    const results = await Promise.all(Array.from({ length: P }, (_, i) => py(root, worker, [String(i), String(N)], 120_000)));
    const payload = (i: number, j: number): string => `${i}:${j};`.repeat((j % 13) + 1);
    const expected = new Map<string, string>();
    for (let i = 0; i < P; i++) {
      for (let j = 0; j < N; j++) {
        if (j % 2 === 0) {
          if (j % 4 !== 0) expected.set(`p${i}/r${j}`, payload(i, j));
        } else if (j % 10 === 1) expected.set(`shared/p${i}-${j}`, payload(i, j));
        else expected.set(`p${i}/f${j}`, payload(i, j));
      }
    }
    const actual = new Map<string, string>();
    const raceOwners: string[] = [];
    let log = '';
    for (const d of fs.readdirSync(root).sort()) {
      for (const f of fs.readdirSync(join(root, d)).sort()) {
        const rel = `${d}/${f}`;
        const content = fs.readFileSync(join(root, d, f), 'latin1');
        if (rel.startsWith('shared/race-')) raceOwners.push(content);
        else if (rel === 'shared/log') log = content;
        else actual.set(rel, content);
      }
    }
    const missing = [...expected.keys()].filter((k) => !actual.has(k));
    const unexpected = [...actual.keys()].filter((k) => !expected.has(k));
    const wrong = [...expected.keys()].filter((k) => actual.has(k) && actual.get(k) !== expected.get(k));
    const lines = log.split('\n').filter((l) => l !== '');
    const perProcessOrdered = Array.from({ length: P }, (_, i) => {
      const mine = lines.filter((l) => l.startsWith(`${i}:`));
      return mine.length === 50 && mine.every((l, j) => l === `${i}:${j}`);
    });
    const wonCount = new Array<number>(20).fill(0);
    for (const res of results) {
      const won = (res as { won?: number[] }).won ?? [];
      for (const k of won) wonCount[k] = (wonCount[k] ?? 0) + 1;
    }
    return {
      workerBad: results.map((res) => (res as { bad?: unknown }).bad ?? res),
      files: actual.size,
      missing: missing.slice(0, 10),
      unexpected: unexpected.slice(0, 10),
      wrong: wrong.slice(0, 10),
      raceWinnersPerName: wonCount,
      raceFiles: raceOwners.length,
      raceContentsValid: raceOwners.every((c) => /^[0-7]$/.test(c)),
      logLines: lines.length,
      logPerProcessOrdered: perProcessOrdered,
      dirs: fs.readdirSync(root).sort(),
    };
  },
};
