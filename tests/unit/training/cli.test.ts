// `hyperbooth train` flag handling: bad flags fail with a message naming the flag, before any
// model is opened.
import { describe, expect, it } from 'vitest';
import { run } from '../../../tools/commands/train';

describe('hyperbooth train flags', () => {
  const base = ['--pack', 'p', '--data', 'd', '--out', 'o'];
  it.each([
    [['nope'], /unknown stage 'nope'/],
    [[], /no stage given/],
    [['base', ...base, '--steps', '0'], /--steps must be an integer ≥ 1/],
    [['base', ...base, '--steps', '2.5'], /--steps must be an integer/],
    [['base', ...base], /missing --steps/],
    [['base', '--data', 'd', '--out', 'o', '--steps', '3'], /missing --pack/],
    [['base', ...base, '--steps', '3', '--lr', '-1'], /--lr must be a positive number/],
    [['base', ...base, '--steps', '3', '--kl', 'x'], /--kl must be a non-negative number/],
    [['base', ...base, '--steps', '3', '--batch', '0'], /--batch must be an integer ≥ 1/],
    [['base', ...base, '--steps', '3', '--parts', 'vae,clip'], /--parts takes a comma list of vae, unet/],
    [['base', ...base, '--steps', '3', '--latent-scale', '0'], /--latent-scale must be a positive number/],
    [['base', ...base, '--steps', '3', '--stpes', '4'], /unknown flag --stpes/],
    [['lidb', ...base, '--shard', '2/2'], /--shard must be i\/n/],
    [['lidb', ...base, '--alpha', '1'], /unknown flag --alpha/],
    [['hypernet', ...base, '--steps', '3'], /missing --targets/],
    [['hypernet', ...base, '--targets', 't', '--steps', '3', '--beta', '-2'], /--beta must be a non-negative number/],
    [['hypernet', ...base, '--targets', 't', '--steps', '3', 'extra'], /unexpected argument extra/],
  ])('%j → error', async (argv, message) => {
    await expect(run(argv as string[])).rejects.toThrow(message);
  });
});
