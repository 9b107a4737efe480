// Resume after a real kill: `hyperbooth train base` in a child process gets SIGKILL as soon as
// its step-2 checkpoint lands (mid step 3), `--resume` finishes the run, and the result equals an
// uninterrupted run's bit for bit — weights, Adam state, RNG state and the loss log.
import { describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createNodeRuntime } from '../../../src/runtime/nodeRuntime';
import { runBase } from '../../../src/training/runBase';
import { checkpointName, latestCheckpointPath, loadCheckpoint } from '../../../src/training/checkpoint';
import { logLosses, tempDir, tinyShard, randomTinyPack } from './helpers';

const root = join(__dirname, '../../..');
const tsx = pathToFileURL(createRequire(join(root, 'package.json')).resolve('tsx/esm')).href;
const cli = (args: string[]) => [process.execPath, ['--import', tsx, join(root, 'tools', 'cli.ts'), ...args]] as const;

describe('train base after SIGKILL', () => {
  it('--resume reaches the uninterrupted run\'s state', async () => {
    const data = tinyShard({ ids: 1, photos: 1 });
    const flags = ['--pack', randomTinyPack(), '--data', data, '--steps', '4', '--lr', '2e-3', '--seed', '9', '--checkpoint-every', '2', '--quiet'];
    const killed = tempDir('kill');
    const [cmd, args] = cli(['train', 'base', ...flags, '--out', killed]);
    const child = spawn(cmd, args, { stdio: 'ignore' });
    const exit = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
    const target = join(killed, 'checkpoints', checkpointName(2));
    await new Promise<void>((resolve, reject) => {
      const poll = setInterval(() => {
        if (existsSync(target)) { clearInterval(poll); child.kill('SIGKILL'); resolve(); }
        if (child.exitCode !== null) { clearInterval(poll); reject(new Error(`the run ended (code ${child.exitCode}) before its step-2 checkpoint`)); }
      }, 20);
    });
    expect(await exit).toBe('SIGKILL');
    expect(existsSync(join(killed, 'pack'))).toBe(false);

    const [rcmd, rargs] = cli(['train', 'base', ...flags, '--out', killed, '--resume']);
    const resumed = spawnSync(rcmd, rargs, { encoding: 'utf8' });
    expect(resumed.status, resumed.stderr).toBe(0);
    expect(resumed.stdout).toMatch(/steps 3\.\.4/);

    const straight = tempDir('kill-straight');
    await runBase(createNodeRuntime({ backend: 'cpu' }), { pack: randomTinyPack(), data, out: straight, steps: 4, lr: 2e-3, seed: 9, checkpointEvery: 2 });
    const a = loadCheckpoint(latestCheckpointPath(join(straight, 'checkpoints'))!);
    const b = loadCheckpoint(latestCheckpointPath(join(killed, 'checkpoints'))!);
    expect(b.step).toBe(4);
    for (const [name, p] of Object.entries(a.params)) {
      expect(Buffer.from(b.params[name].buffer).equals(Buffer.from(p.buffer)), name).toBe(true);
      expect(Buffer.from(b.adam.v[name].buffer).equals(Buffer.from(a.adam.v[name].buffer)), name).toBe(true);
    }
    expect(b.rng).toEqual(a.rng);
    const strip = (rows: ReturnType<typeof logLosses>) => rows.map(({ ms: _ms, ...rest }) => rest);
    expect(strip(logLosses(killed))).toEqual(strip(logLosses(straight)));
    expect(existsSync(join(killed, 'pack', 'manifest.json'))).toBe(true);
  }, 240_000);
});
