// `npm run docs`: writes the documentation generated from the option table
// and the policy registry (man/braidfs.1, man/braidfs-policies.7,
// examples/braidfs.conf; see config/manpage.ts). Run it after changing the
// table; test/unit/docs.test.ts fails until the committed files match.
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generatedDocs } from '../config/manpage.js';

// dist/src/cli/ → the package root, wherever npm runs us from.
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

function current(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

for (const { file, render } of generatedDocs) {
  const path = join(root, file);
  const text = render();
  if (current(path) === text) {
    process.stdout.write(`${file}: up to date\n`);
  } else {
    writeFileSync(path, text);
    process.stdout.write(`${file}: written\n`);
  }
}
