/**
 * THE ONE SEAM between the rehearsal and the product's drain: how the rehearsal runs "Pulumi
 * deletes the old PoolDrainer" — the step that drains the old pool before the pool itself goes.
 *
 * It runs the real code the way `pulumi up` does, reusing the drainer's own test harness (no
 * second implementation here):
 *   1. a `PoolDrainer` for the old pool is registered under Pulumi mocks (tests/drainer/capture.ts),
 *      which yields its inputs including the serialized provider text `__provider`;
 *   2. that text is loaded in a FRESH Node process from another working directory, exactly as the
 *      dynamic-provider host loads it (tests/drainer/host.ts: `requireFromString(text).handler()`);
 *   3. the host's check/create run as on the `pulumi up` that created the old pool, then its
 *      `delete(id, olds)` with the stored outputs — which drains the old pool through the engine.
 */
import { PoolDrainer, DrainerOptions } from "../../components/poolDrainer";
import { installMocks, plainInputs } from "../drainer/capture";
import { startFreshHost } from "../drainer/host";

/** What the old drainer's inputs held when it was created. */
export interface DrainRequest {
  /** Kubeconfig YAML text (in the rehearsal: the simulator's; in production: exec-auth, no token). */
  kubeconfig: string;
  /** The old pool's name. */
  pool: string;
  /** The pool's role (replacement nodes are found by `nodepool-rotation/role=<role>`). */
  role: string;
  /** `project/location/name` of the cluster. */
  cluster: string;
  /** Drain options as in stack config `nodepool-rotation:drain` (the drainer validates them). */
  options?: DrainerOptions | Record<string, unknown>;
  /** Progress lines (the provider's stderr, forwarded as it comes). */
  log: (line: string) => void;
}

/** What the rehearsal reports about the drain. */
export interface DrainResult {
  /** Which code path ran (so the report says what was exercised). */
  via: string;
  /** False when delete() threw: Pulumi then keeps the old pool (and retries on the next `pulumi up`). */
  ok: boolean;
  /** The provider's error message when delete() failed. */
  error?: string;
  /** How long the host's delete() took, ms. */
  deleteMs: number;
  /** What the provider wrote to stderr during delete() (what `pulumi up` shows the operator). */
  output: string[];
}

let seq = 0;

/** The old pool's drainer as the previous `pulumi up` left it: created, outputs in state. */
export interface OldDrainer {
  /** Pulumi deleting it: the host runs the stored serialized `delete(id, olds)`, which drains the pool. A failed delete is returned (ok: false), not thrown. */
  drain(): Promise<DrainResult>;
  /** Ends the host process and removes its directory. */
  close(): Promise<void>;
}

/**
 * Registers the old pool's PoolDrainer (under Pulumi mocks) and creates it in a fresh host, as the
 * `pulumi up` that created the old pool did. Done before the rehearsal's clock starts: serializing
 * the provider is CPU work of an earlier deployment, not of the rotation.
 */
export async function createOldDrainer(req: DrainRequest): Promise<OldDrainer> {
  const mocks = installMocks();
  const name = `rehearsal-drainer-${++seq}`;
  new PoolDrainer(name, { poolName: req.pool, role: req.role, cluster: req.cluster, kubeconfig: req.kubeconfig, options: (req.options ?? {}) as DrainerOptions });
  const inputs = plainInputs((await mocks.registered(name)).inputs);
  const host = await startFreshHost();
  let shown = 0;
  const lines: string[] = [];
  const forward = () => {
    const text = host.stderr();
    const end = text.lastIndexOf("\n") + 1;
    if (end > shown) {
      for (const line of text.slice(shown, end).split("\n").filter(Boolean)) {
        lines.push(line);
        req.log(line);
      }
      shown = end;
    }
  };
  try {
    const checked = await host.call("check", {}, inputs);
    if (!checked.ok) throw new Error(`PoolDrainer check failed: ${checked.message}`);
    if (checked.result.failures?.length) throw new Error(`PoolDrainer check failed: ${JSON.stringify(checked.result.failures)}`);
    const created = await host.call("create", checked.result.inputs);
    if (!created.ok) throw new Error(`PoolDrainer create failed: ${created.message}`);
    forward();
    const { id, outs } = created.result;
    return {
      async drain() {
        forward();
        const before = lines.length;
        const ticker = setInterval(forward, 100);
        const output = () => lines.slice(before);
        try {
          const deleted = await host.call("delete", id, outs);
          clearInterval(ticker);
          forward();
          const via = "PoolDrainer serialized delete() in a fresh dynamic-provider host";
          return deleted.ok
            ? { via, ok: true, deleteMs: deleted.ms, output: output() }
            : { via, ok: false, error: deleted.message, deleteMs: deleted.ms, output: output() };
        } finally {
          clearInterval(ticker);
        }
      },
      close: () => host.stop(),
    };
  } catch (e) {
    await host.stop();
    throw e;
  }
}
