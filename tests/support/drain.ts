/** Assertions on drains shared by the engine, pool guard and docs specs. */
import * as assert from "node:assert/strict";
import { CORDONED_ANNOTATION } from "../../components/contracts";
import { DrainError, isDrainError } from "../../components/rotation/errors";

/** Awaits `p`, which must reject with a DrainError; returns it (fails the test otherwise). */
export async function rejects(p: Promise<unknown>): Promise<DrainError> {
  try {
    await p;
  } catch (e) {
    assert.ok(isDrainError(e), `expected a DrainError, got ${(e as Error)?.stack ?? e}`);
    return e;
  }
  assert.fail("expected the drain to fail");
}

/** Something that lists a pool's nodes through the API (tests/rotation/sim.ts View). */
export interface NodeLister {
  nodes(pool: string): Promise<{ metadata?: { name?: string; annotations?: Record<string, string> }; spec?: { unschedulable?: boolean } }[]>;
}

/** Every node of `pool` is schedulable and carries no cordon annotation of ours. */
export async function assertUncordoned(view: NodeLister, pool = "old"): Promise<void> {
  for (const n of await view.nodes(pool)) {
    assert.ok(!n.spec?.unschedulable, `${n.metadata?.name} must be uncordoned`);
    assert.equal(n.metadata?.annotations?.[CORDONED_ANNOTATION], undefined, `${n.metadata?.name} annotation removed`);
  }
}
