// erofs: always fails with EROFS, in every category and whatever the branches.
// Used to switch a function off, e.g. `func.mkdir=erofs` or
// `category.create=erofs` for a read-only view of the pool.
import { PolicyError } from './types.js';
import type { Policy } from './types.js';

export const erofs: Policy = Object.freeze({
  name: 'erofs',
  pathPreserving: false,
  async select(): Promise<never> {
    throw new PolicyError('EROFS');
  },
  trySelect: () => 'EROFS',
});
