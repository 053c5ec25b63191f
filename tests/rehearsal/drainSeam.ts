/**
 * THE ONE SEAM between the rehearsal and the product's drain: how the rehearsal runs "Pulumi
 * deletes the old PoolDrainer" — the step that drains the old pool before the pool itself goes.
 *
 * It must run the real code the way `pulumi up` does: the PoolDrainer's serialized provider
 * `delete(id, olds)` (components/poolDrainer.ts, issue 5), loaded from its `__provider` text the
 * way the dynamic-provider host loads it. Nothing in the rehearsal drains any other way.
 */
import type { KubeConfig } from "@kubernetes/client-node";

/** What the old drainer's outputs would hold (the inputs `delete(id, olds)` receives). */
export interface DrainRequest {
  /** Kubeconfig YAML text (in the rehearsal: the simulator's; in production: exec-auth, no token). */
  kubeconfig: string;
  /** The old pool's name. */
  pool: string;
  /** The pool's role (replacement nodes are found by `nodepool-rotation/role=<role>`). */
  role: string;
  /** `project/location/name` of the cluster. */
  cluster: string;
  /** Progress lines (stderr). */
  log: (line: string) => void;
  kc: KubeConfig;
}

/** What the rehearsal reports about the drain. */
export interface DrainResult {
  /** Which code path ran (so the report says what was exercised). */
  via: string;
  /** The engine's DrainSummary when the path returns one. */
  summary?: unknown;
}

/** Drains the old pool with the real product code. Throws what the product throws. */
export async function drainOldPool(req: DrainRequest): Promise<DrainResult> {
  // Engine path, used until the drainer's serialized-provider helper lands (see CONTRACTS.md).
  const engine: any = await import("../../components/rotation");
  const summary = await engine.drainPool(req.kc, { pool: req.pool, log: req.log });
  return { via: "components/rotation drainPool (engine, direct)", summary };
}
