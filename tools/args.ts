// Minimal flag parsing shared by the CLI commands: `--name value`, `--flag`, positionals.
export interface ParsedArgs { positional: string[]; flags: Record<string, string | true> }

export function parseArgs(argv: string[], booleanFlags: string[] = []): ParsedArgs {
  const positional: string[] = [];
  const flags: Record<string, string | true> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) { positional.push(a); continue; }
    const eq = a.indexOf('=');
    if (eq > 0) { flags[a.slice(2, eq)] = a.slice(eq + 1); continue; }
    const key = a.slice(2);
    if (booleanFlags.includes(key) || i + 1 >= argv.length || argv[i + 1].startsWith('--')) flags[key] = true;
    else flags[key] = argv[++i];
  }
  return { positional, flags };
}

export function requireFlag(args: ParsedArgs, name: string): string {
  const v = args.flags[name];
  if (typeof v !== 'string') throw new Error(`missing --${name} <value>`);
  return v;
}

/** A bad command line: commands print the message with their usage text and exit 2. */
export class UsageError extends Error {}

/** A non-negative integer flag; `fallback` when absent, a UsageError when absent without one. */
export function intFlag(args: ParsedArgs, name: string, fallback?: number): number {
  const v = args.flags[name];
  if (v === undefined) {
    if (fallback === undefined) throw new UsageError(`missing --${name} <integer>`);
    return fallback;
  }
  if (v === true || !/^\d+$/.test(v)) throw new UsageError(`--${name} expects a non-negative integer, got ${v === true ? 'nothing' : `'${v}'`}`);
  return Number(v);
}
