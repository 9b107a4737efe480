export * from './proto';
export * from './dtype';
export * from './float16';
export * from './tensor';
export * from './model';
export * from './builder';
export * from './graph';
