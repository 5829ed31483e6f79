// Command line → what to do. Pure: no I/O, so it is unit-testable.
import { applyOption, defaults, OptionError, splitOptions, type Config } from '../config/options.js';

export type Command =
  | { kind: 'help' }
  | { kind: 'version' }
  | { kind: 'mount'; source: string; mountpoint: string; foreground: boolean; config: Config };

export function parseArgs(argv: readonly string[]): Command {
  const config: Config = { ...defaults };
  const positional: string[] = [];
  let foreground = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '-h' || a === '--help') return { kind: 'help' };
    if (a === '-V' || a === '--version') return { kind: 'version' };
    if (a === '-f') foreground = true;
    else if (a === '-d') {
      config.debug = true;
      foreground = true;
    } else if (a === '-o') {
      const v = argv[++i];
      if (v === undefined) throw new OptionError('-o needs a value');
      for (const o of splitOptions(v)) applyOption(config, o);
    } else if (a.startsWith('-o')) {
      for (const o of splitOptions(a.slice(2))) applyOption(config, o);
    } else if (a === '--') {
      positional.push(...argv.slice(i + 1));
      break;
    } else if (a.startsWith('-') && a.length > 1) {
      throw new OptionError(`unknown flag '${a}' (see braidfs --help)`);
    } else positional.push(a);
  }
  if (config.debug) foreground = true;
  if (positional.length !== 2) throw new OptionError(`expected SOURCE and MOUNTPOINT, got ${positional.length} argument(s) (see braidfs --help)`);
  return { kind: 'mount', source: positional[0]!, mountpoint: positional[1]!, foreground, config };
}
