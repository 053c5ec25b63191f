/**
 * The rehearsal's client for the simulator's GKE operations (tests/simulator/gkeUpgrade.ts): starts
 * one over HTTP, as a user would call GKE, and waits for it to finish.
 */
import type { Operation, UpgradeSettings } from "../simulator/gkeUpgrade";

export type { Operation, UpgradeSettings };

async function call(url: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(url + path, { method, headers: { "Content-Type": "application/json" }, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

/** Polls an operation until it is no longer RUNNING; throws when it FAILED or the deadline passed. */
export async function waitOperation(url: string, id: string, timeoutMs: number, everyMs = 20): Promise<Operation> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await call(url, "GET", `/simulator/operations/${encodeURIComponent(id)}`);
    if (r.status !== 200) throw new Error(`GET /simulator/operations/${id}: ${r.status} ${JSON.stringify(r.body)}`);
    const op = r.body as Operation;
    if (op.status === "FAILED") throw new Error(`GKE operation ${op.strategy} of ${op.pool} failed: ${op.error}`);
    if (op.status === "DONE") return op;
    if (Date.now() > deadline) throw new Error(`GKE operation ${op.strategy} of ${op.pool} still running after ${timeoutMs} ms (last step: ${op.steps[op.steps.length - 1]?.what})`);
    await new Promise((res) => setTimeout(res, everyMs));
  }
}

/** Upgrades a pool with one of GKE's strategies and waits for the operation. */
export async function upgradePool(url: string, pool: string, settings: UpgradeSettings, timeoutMs: number): Promise<Operation> {
  const r = await call(url, "POST", `/simulator/pools/${encodeURIComponent(pool)}/upgrade`, settings);
  if (r.status !== 202) throw new Error(`upgrade of ${pool}: ${r.status} ${r.body?.message ?? JSON.stringify(r.body)}`);
  return waitOperation(url, r.body.id, timeoutMs);
}

/** Deletes a pool the way GKE does (each node drained with the bounded grace; PDBs only with respectPdb) and waits. */
export async function deletePoolAsGke(url: string, pool: string, timeoutMs: number, respectPdb = false): Promise<Operation> {
  const r = await call(url, "DELETE", `/simulator/pools/${encodeURIComponent(pool)}?drain=true${respectPdb ? "&respectPdbDuringNodePoolDeletion=true" : ""}`);
  if (r.status !== 202) throw new Error(`deletion of ${pool}: ${r.status} ${r.body?.message ?? JSON.stringify(r.body)}`);
  return waitOperation(url, r.body.id, timeoutMs);
}
