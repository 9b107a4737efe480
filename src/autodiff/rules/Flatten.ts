import { reshapeRule } from './reshapeLike';

export const Flatten = reshapeRule('Flatten');
