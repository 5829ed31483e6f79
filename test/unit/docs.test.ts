// The documentation stays in step with the option table (src/config/options.ts)
// and the policy registry (policies/index.ts): the generated files are
// current, mandoc finds nothing to say about the man pages, and every option
// shows up in --help, the man page, runtime control and the example config
// file, with nothing there that the table does not have.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { POLICY_NAMES } from '../../policies/index.js';
import { exampleConfig, generatedDocs, manPage, policiesPage } from '../../src/config/manpage.js';
import { applyOption, defaults, findOption, optionDefault, optionNotes, optionTable, type Config, type OptionSpec } from '../../src/config/options.js';
import { ConfigStore, parseConfigText } from '../../src/config/store.js';

// dist/test/unit/ → the package root.
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const read = (file: string): string => readFileSync(join(root, file), 'utf8');

const allNames = optionTable.flatMap((s) => s.names);
const canonical = (s: OptionSpec): string => s.names[0] ?? '';
const options = optionTable.filter((s) => s.kind === 'option');

// --- the generated files ---------------------------------------------------------------

for (const { file, render } of generatedDocs) {
  test(`${file} is what the option table generates`, (t) => {
    t.is(read(file), render(), `${file} is out of date with the option table: run npm run docs`);
  });
}

for (const file of ['man/braidfs.1', 'man/braidfs-policies.7']) {
  test(`mandoc -T lint finds nothing in ${file}`, (t) => {
    const r = spawnSync('mandoc', ['-T', 'lint', join(root, file)], { encoding: 'utf8' });
    t.is(r.error, undefined, 'mandoc is not installed (apt-get install mandoc)');
    t.is(`${r.stdout}${r.stderr}`, '', `mandoc -T lint ${file} complains`);
    t.is(r.status, 0);
  });
}

// --- --help --------------------------------------------------------------------------------

function help(): string {
  const r = spawnSync(process.execPath, [join(root, 'dist', 'src', 'cli', 'main.js'), '--help'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`braidfs --help exited ${r.status}: ${r.stderr}`);
  return r.stdout;
}

/** Every option name in --help: after the usage ("options:"), the `-o NAME` of the synopsis lines (indented two) and their `(also: …)` aliases. */
function helpNames(text: string): string[] {
  const lines = text.split('\n');
  const synopses = lines.slice(lines.indexOf('options:') + 1).filter((l) => l.startsWith('  -o '));
  return synopses.flatMap((l) => [...[...l.matchAll(/-o ([^\s=,()]+)/g)].map((m) => m[1]!), ...[...l.matchAll(/\(also: ([^)]*)\)/g)].flatMap((m) => m[1]!.split(', '))]);
}

test('braidfs --help lists every option of the table, aliases included, and nothing else', (t) => {
  t.true(help().split('\n').includes('options:'), 'the usage text no longer ends with "options:"');
  const names = helpNames(help());
  t.deepEqual(allNames.filter((n) => !names.includes(n)), [], 'missing from --help');
  t.deepEqual(names.filter((n) => !allNames.includes(n)), [], 'in --help but not in the option table');
});

test('braidfs --help gives every option its default and whether it changes at run time', (t) => {
  const flat = help().replace(/\s+/g, ' ');
  for (const s of options) {
    const d = optionDefault(s);
    t.truthy(d, `${canonical(s)} has no default`);
    t.true(flat.includes(`${s.doc} [${optionNotes(s).join('; ')}]`), `--help lacks the default of ${canonical(s)}`);
  }
});

test('braidfs --help fits in 80 columns', (t) => {
  // Text wraps at spaces; only a synopsis with no space to break at (inodecalc's list of values) may run longer.
  const long = help()
    .split('\n')
    .filter((l) => [...l].length > 80 && !/^ {2}-o \S+$/.test(l));
  t.deepEqual(long, []);
});

// --- the man page --------------------------------------------------------------------------

/** roff text as it reads: no font changes, escapes undone. */
function unroff(s: string): string {
  return s
    .replace(/\\f[BIRP]/g, '')
    .replace(/\\\[u([0-9A-F]+)\]/g, (_m, hex: string) => String.fromCodePoint(parseInt(hex, 16)))
    .replace(/\\-/g, '-')
    .replace(/\\[&:]/g, '')
    .replace(/\\e/g, '\\');
}

interface ManEntry {
  /** The .TP tag as it reads. */
  readonly tag: string;
  /** The text lines after it, as they read, joined by spaces. */
  readonly body: string;
  /** The tag is a macro line (the -f, -d, ... flags); option tags are text lines. */
  readonly macro: boolean;
}

/** The .TP entries of the OPTIONS section of braidfs(1). */
function manOptionEntries(page: string): ManEntry[] {
  const lines = page.split('\n');
  const start = lines.indexOf('.SH OPTIONS');
  const end = lines.findIndex((l, i) => i > start && l.startsWith('.SH '));
  const entries: ManEntry[] = [];
  for (let i = start; i < end; i++) {
    if (lines[i] !== '.TP') continue;
    const tag = lines[i + 1]!;
    const body: string[] = [];
    for (let j = i + 2; j < end && !/^\.(TP|SS|SH)\b/.test(lines[j]!); j++) if (!lines[j]!.startsWith('.')) body.push(unroff(lines[j]!));
    entries.push({ tag: unroff(tag.replace(/^\.\w+ /, '').replace(/"/g, '')), body: body.join(' '), macro: tag.startsWith('.') });
  }
  return entries;
}

/** The option names of an option tag: `name[=VALUE]` items joined by ", ". */
const tagNames = (e: ManEntry): string[] => e.tag.split(', ').map((item) => item.split('=')[0]!);

test('the OPTIONS section of braidfs(1) names every option of the table, and nothing else', (t) => {
  const entries = manOptionEntries(read('man/braidfs.1'));
  t.true(entries.length > 0, 'no OPTIONS section found');
  for (const e of entries.filter((x) => x.macro)) t.regex(e.tag, /^-/, `a macro tag that is not a command-line flag: ${e.tag}`);
  const names = entries.filter((e) => !e.macro).flatMap(tagNames);
  t.deepEqual(allNames.filter((n) => !names.includes(n)), [], 'missing from the man page');
  t.deepEqual(names.filter((n) => !allNames.includes(n)), [], 'in the man page but not in the option table');
});

test('braidfs(1) gives every option its value syntax, meaning, default and run-time note', (t) => {
  for (const e of manOptionEntries(read('man/braidfs.1')).filter((x) => !x.macro)) {
    const spec = findOption(tagNames(e)[0]!);
    if (spec === undefined) continue; // an unknown name: the test above reports it
    for (const s of optionTable.filter((x) => tagNames(e).includes(canonical(x)))) {
      t.true(e.tag.includes(`${canonical(s)}${s.value ? `=${s.value}` : ''}`), `the tag lacks ${canonical(s)}'s value syntax`);
    }
    const doc = spec.doc.replace(/^./, (c) => c.toUpperCase());
    t.true(e.body.includes(doc), `the man page lacks the doc of ${tagNames(e)[0]}`);
    const notes = optionNotes(spec).join('; ');
    if (notes) t.true(e.body.toLowerCase().includes(notes.toLowerCase()), `the man page lacks '${notes}' for ${tagNames(e)[0]}`);
  }
});

test('braidfs(1) has the sections the issue asks for', (t) => {
  const page = manPage();
  const sections = page.split('\n').filter((l) => l.startsWith('.SH ')).map((l) => l.slice(4).replace(/"/g, ''));
  const wanted = ['NAME', 'SYNOPSIS', 'DESCRIPTION', 'OPTIONS', 'POLICIES', 'RUNTIME CONTROL', 'FSTAB AND SYSTEMD', 'PODMAN', 'PASSTHROUGH', 'LOGGING', 'SIGNALS', 'EXIT STATUS', 'FILES', 'SEE ALSO'];
  t.deepEqual(sections, wanted);
  t.true(page.includes('/mnt/disk*  /mnt/pool  fuse.braidfs  defaults,allow_other,category.create=mfs,minfreespace=20G,nofail  0 0'));
  t.true(page.includes('mount_program = "/usr/local/bin/braidfs"'));
});

test('braidfs-policies(7) describes every policy of the registry', (t) => {
  const page = policiesPage();
  const body = page.slice(page.indexOf('.SH POLICIES'), page.indexOf('.SH EXAMPLES'));
  const described = [...body.matchAll(/^\.TP\n\.B (\S+)$/gm)].map((m) => m[1]);
  t.deepEqual(described, [...POLICY_NAMES]);
});

// --- runtime control -----------------------------------------------------------------------

/**
 * The rule for what `getfattr -d -m - MOUNT/.braidfs` lists: every option and
 * read-only fact with a current value to show. Left out by design: `config`
 * (it reads a file; there is no value), each value-less inverse flag (its twin
 * here shows the state), and every compatibility entry (braidfs ignores them).
 */
const TWIN: Readonly<Record<string, string>> = { rw: 'ro', suid: 'nosuid', dev: 'nodev', exec: 'noexec', atime: 'noatime' };

test('runtime control lists every option that has a value, by the rule above', (t) => {
  const store = new ConfigStore(defaults);
  const listed = store.list();
  for (const s of optionTable) {
    const name = canonical(s);
    const shown = listed.includes(name);
    if (s.kind === 'ignored' || s.kind === 'meta') t.false(shown, `compatibility option ${name} is listed`);
    else if (name === 'config') t.false(shown);
    else if (TWIN[name] !== undefined) t.false(shown, `${name} is listed; its twin ${TWIN[name]} shows its state`);
    else t.true(shown, `${name} is missing from runtime control`);
  }
  t.deepEqual(listed.filter((n) => !optionTable.some((s) => canonical(s) === n)), [], 'listed but not a canonical name of the table');
  for (const n of listed) t.notThrows(() => store.get(n), `getxattr user.braidfs.${n} fails`);
});

test('each inverse flag left out of runtime control is shown by its twin', (t) => {
  const unshown = options.filter((s) => s.format === undefined).map(canonical);
  t.deepEqual(unshown.sort(), ['config', ...Object.keys(TWIN)].sort(), 'an option without a value to show that the rule does not cover');
  for (const [flag, twin] of Object.entries(TWIN)) {
    const c: Config = { ...defaults };
    applyOption(c, twin);
    t.is(findOption(twin)?.format?.(c), 'true');
    applyOption(c, flag);
    t.is(findOption(twin)?.format?.(c), 'false', `${flag} does not show as ${twin}=false`);
  }
});

// --- examples/braidfs.conf -----------------------------------------------------------------

test('examples/braidfs.conf says what it is and has a line for every option', (t) => {
  const lines = exampleConfig().split('\n');
  t.regex(lines[0]!, /^# braidfs\.conf: .*config file/);
  for (const s of optionTable) {
    const name = canonical(s);
    if (s.kind === 'info') continue; // read-only: nothing to set
    t.true(
      lines.some((l) => l === `#${name}` || l.startsWith(`#${name}=`) || l.startsWith(`# ${name}=`)),
      `no setting line for ${name}`,
    );
  }
  const text = exampleConfig();
  for (const n of allNames) t.true(text.includes(n), `examples/braidfs.conf never mentions ${n}`);
});

test('examples/braidfs.conf parses with every setting line uncommented', (t) => {
  // `#name[=value]` (no space after #) is a setting; `# ...` is prose or syntax only.
  const settings = exampleConfig()
    .split('\n')
    .filter((l) => /^#[^\s#]/.test(l))
    .map((l) => l.slice(1));
  const parsed = parseConfigText(settings.join('\n'));
  t.is(parsed.length, settings.length);
  t.true(parsed.length >= optionTable.filter((s) => s.kind !== 'info' && (s.example !== undefined || s.value === '')).length);
  const c: Config = { ...defaults };
  for (const line of parsed) t.notThrows(() => applyOption(c, line), `config parser refuses '${line}'`);
});
