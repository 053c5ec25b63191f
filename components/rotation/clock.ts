/**
 * The drain's time source: `now()` and one-shot timers. The engine reads time only through a Clock
 * (DrainOptions.clock; default `realClock`), so a spec can drive a phase that lasts minutes — a
 * soak, a backoff, the deadline — with a fake clock (tests/support/clock.ts) in no real time.
 * Not covered on purpose: request timeouts inside the client and the bounded clean-up after a
 * failure (failClosed's settle wait, the uncordon retries), which guard against real processes and
 * real signals (the provider host is SIGKILLed 5 s of REAL time after SIGINT).
 */

/** A timer handle from a Clock. */
export type TimerHandle = unknown;

/** Time as the drain sees it. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Calls `fn` once `ms` have passed on this clock. */
  setTimeout(fn: () => void, ms: number): TimerHandle;
  /** Cancels a timer from setTimeout (no-op when it fired already). */
  clearTimeout(handle: TimerHandle): void;
}

/** Wall-clock time and Node's timers. */
export const realClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};
