/**
 * Waiting on an observable condition, for every spec outside tests/simulator (which keeps its own
 * helpers). One argument order everywhere: what is awaited (for the timeout message) first, then
 * the condition, then the limits.
 */

/**
 * Polls `cond` every `everyMs` until it returns a truthy value (returned) or `timeoutMs` passes
 * (then throws "timed out after N ms waiting for <what>"). `cond` may be async and may throw to stop.
 */
export async function waitFor<T>(what: string, cond: () => T | Promise<T>, timeoutMs = 20_000, everyMs = 20): Promise<NonNullable<T>> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await cond();
    if (v) return v as NonNullable<T>;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
