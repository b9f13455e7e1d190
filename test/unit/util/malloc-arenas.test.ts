import { describe, expect, it } from 'vitest';
import { limitMallocArenas, MALLOC_ARENAS } from '../../../src/util/malloc-arenas.js';

describe('limitMallocArenas', () => {
  const calls = () => {
    const seen: number[] = [];
    return { seen, set: (n: number) => (seen.push(n), true) };
  };

  it('sets the limit when the environment does not', () => {
    const c = calls();
    expect(limitMallocArenas(c.set, {})).toBe(MALLOC_ARENAS);
    expect(c.seen).toEqual([MALLOC_ARENAS]);
  });

  it("leaves the operator's MALLOC_ARENA_MAX or glibc tunable alone", () => {
    for (const env of [{ MALLOC_ARENA_MAX: '8' }, { GLIBC_TUNABLES: 'glibc.malloc.trim_threshold=0:glibc.malloc.arena_max=4' }]) {
      const c = calls();
      expect(limitMallocArenas(c.set, env)).toBeNull();
      expect(c.seen).toEqual([]);
    }
    const c = calls();
    expect(limitMallocArenas(c.set, { GLIBC_TUNABLES: 'glibc.malloc.trim_threshold=0' })).toBe(MALLOC_ARENAS);
  });

  it('says so when the C library has no such setting', () => {
    expect(limitMallocArenas(() => false, {})).toBeNull();
  });
});
