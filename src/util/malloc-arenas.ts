// How many malloc arenas bondd's threads share. glibc gives each thread that allocates its own
// arena (up to 8 per core), and each arena keeps its own high-water mark. bondd's JavaScript
// allocates little outside the V8 heap, but V8's compiler threads do: every function TurboFan
// optimises is compiled in a zone of malloc'd memory on one of those threads, freed afterwards
// and kept by that thread's arena. A daemon's functions get hot one after another over many
// minutes (timers, the LACP machines, the control socket each run a few times a second), so
// each arena's high-water mark climbs with the largest compilation it has seen, and RSS with it:
// +3.4 % in 5 minutes after warm-up here, +0.9 % with `--no-opt`. With the threads sharing the
// arenas below, the largest compilation is paid once, not once per thread.
//
// An operator's own choice wins: MALLOC_ARENA_MAX, or glibc.malloc.arena_max in GLIBC_TUNABLES,
// is applied by glibc itself before bondd runs, and then bondd leaves it alone.

/** The main thread's arena and one that V8's helper threads share. */
export const MALLOC_ARENAS = 2;

/**
 * Sets the arena limit through `set` (the addon's mallopt(M_ARENA_MAX)) unless the environment
 * already did. Call it before the process starts threads that allocate: threads that already
 * have an arena keep it. Returns the limit bondd set, or null when it set none (the operator
 * chose, or the C library is not glibc).
 */
export function limitMallocArenas(set: (n: number) => boolean, env: NodeJS.ProcessEnv = process.env): number | null {
  if (env.MALLOC_ARENA_MAX !== undefined || /(^|:)glibc\.malloc\.arena_max=/.test(env.GLIBC_TUNABLES ?? '')) return null;
  return set(MALLOC_ARENAS) ? MALLOC_ARENAS : null;
}
