export * from './schedule';
export * from './schedulers';
export * from './cfg';
export * from './random';
export * from './tokenizer';
export * from './tokenizerBuild';
