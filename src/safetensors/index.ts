export * from './errors';
export * from './dtypes';
export * from './read';
export * from './write';
export * from './decode';
export { parseStrictJson, JsonSyntaxError, type JsonValue, type JsonObject } from './json';
