import { extremumRule } from './minmax';

export const Max = extremumRule('Max');
