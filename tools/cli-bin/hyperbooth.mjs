#!/usr/bin/env node
// Runs tools/cli.ts through tsx (a project dependency), so the CLI needs no build step.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { realpathSync } from 'node:fs';
import { createRequire } from 'node:module';

const here = dirname(realpathSync(fileURLToPath(import.meta.url)));
const root = join(here, '..', '..');
const require = createRequire(join(root, 'package.json'));
const tsx = pathToFileURL(require.resolve('tsx/esm')).href;
const r = spawnSync(process.execPath, ['--import', tsx, join(root, 'tools', 'cli.ts'), ...process.argv.slice(2)], { stdio: 'inherit' });
process.exit(r.status ?? 1);
