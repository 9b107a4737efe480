// Benchmarks measure each run in a process of its own (its own peak RSS): the bench file is run
// again with child flags, passes its stderr through, and prints one JSON line as its result.
import { spawn } from 'node:child_process';

/** Runs `script` (a bench module's own path) with `args` in a fresh Node and returns its last stdout line, a JSON object. */
export function runBenchChild(script: string, args: string[]): Promise<string> {
  return new Promise((ok, fail) => {
    const child = spawn(process.execPath, [...process.execArgv, script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '', err = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { err += d; process.stderr.write(`  | ${d}`); });
    child.on('error', fail);
    child.on('close', (code) => {
      const line = out.trim().split('\n').pop() ?? '';
      if (code !== 0 || !line.startsWith('{')) fail(new Error(`child ${args.join(' ')} failed (exit ${code}): ${err.trim().split('\n').slice(-5).join('\n')}`));
      else ok(line);
    });
  });
}
