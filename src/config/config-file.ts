// `-o config=FILE`: options from a file, one `key=value` a line, as mergerfs
// reads them (src/config.cpp, Config::from_stream): each line trimmed, blank
// lines and lines starting with `#` skipped, key and value trimmed around the
// first `=`. Commas are not separators here, so a value may contain them.
import { readFileSync } from 'node:fs';
import { OptionError } from './values.js';

/** The options in a config file, in order, as `key=value` (or a bare `key`). Throws an OptionError if it cannot be read. */
export function readConfigFile(path: string): string[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    throw new OptionError(`cannot read config file '${path}': ${typeof code === 'string' ? code : String(e)}`);
  }
  return parseConfigText(text);
}

/** readConfigFile without the file: the lines of `text` as options. */
export function parseConfigText(text: string): string[] {
  const out: string[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    out.push(eq < 0 ? line : `${line.slice(0, eq).trim()}=${line.slice(eq + 1).trim()}`);
  }
  return out;
}
