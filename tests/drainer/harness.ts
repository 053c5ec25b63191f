/**
 * The drainer specs' common steps: a simulator cluster with the old (and new) pool booted, and the
 * old pool's PoolDrainer as the previous `pulumi up` left it — registered by the real component
 * under Pulumi mocks, then Check and Create in the real dynamic-provider host (tests/drainer/host.ts).
 */
import * as assert from "node:assert/strict";
import { PoolDrainer } from "../../components/poolDrainer";
import { Simulator, startSimulator } from "../simulator";
import { installMocks, plainInputs } from "./capture";
import { ClusterView, NEW_POOL, OLD_POOL, ROLE_LABELS, scenario, waitFor } from "./cluster";
import { FreshHost, HostOptions, startFreshHost, stopAllHosts } from "./host";

export const CLUSTER = "acme-game-staging/asia-northeast1/game-staging";

/**
 * Call inside a `describe`: after each test, kills every host process group started, then runs what
 * the test pushed on the returned list (last first; simulators, proxies).
 */
export function cleanupAfterEach(): (() => Promise<void>)[] {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    await stopAllHosts();
    while (cleanups.length) await cleanups.pop()!().catch(() => undefined);
  });
  return cleanups;
}

/** Pool sizes to boot; `unready`: Deployments whose pods never become Ready (not awaited). */
export interface Pools {
  old: number;
  new: number;
  unready?: string[];
}

/**
 * A simulator with `docs`, the old pool (and optionally the new pool) booted and workloads ready on
 * the old pool. Its stop is pushed on `cleanups`.
 */
export async function clusterWithPools(docs: string[], pools: Pools, cleanups: (() => Promise<void>)[]): Promise<{ sim: Simulator; view: ClusterView }> {
  const sim = await startSimulator({ scenario: scenario(...docs) });
  cleanups.push(() => sim.stop());
  const view = new ClusterView(sim.kubeConfig());
  if (pools.old > 0) {
    await sim.addPool({ name: OLD_POOL, nodes: pools.old, labels: ROLE_LABELS });
    await waitFor("old pool Ready", () => view.nodesReady(OLD_POOL, pools.old));
    await waitFor("workloads Ready on the old pool", () => view.allDeploymentsReady(pools.unready));
  }
  if (pools.new > 0) {
    await sim.addPool({ name: NEW_POOL, nodes: pools.new, labels: ROLE_LABELS });
    await waitFor("new pool Ready", () => view.nodesReady(NEW_POOL, pools.new));
  }
  return { sim, view };
}

let seq = 0;

/** The old pool's drainer in a running host: its id and stored outputs (what Delete receives). */
export interface CreatedDrainer {
  host: FreshHost;
  id: string;
  outs: Record<string, any>;
  /** The serialized provider text (`__provider`). */
  text: string;
}

/**
 * Registers a PoolDrainer for OLD_POOL with `kubeconfig` and `options` under mocks, starts the real
 * host (`hostOptions`: checkout, inherited environment) and runs Check and Create as the engine does.
 * The host is stopped by `stopAllHosts` after the test.
 */
export async function createdDrainer(kubeconfig: string, options: Record<string, unknown>, hostOptions: HostOptions = {}): Promise<CreatedDrainer> {
  const mocks = installMocks();
  const name = `drainer-old-${++seq}`;
  new PoolDrainer(name, { poolName: OLD_POOL, role: "app", cluster: CLUSTER, kubeconfig, options });
  const reg = await mocks.registered(name);
  const host = await startFreshHost(hostOptions);
  const checked = await host.call("check", {}, plainInputs(reg.inputs));
  assert.ok(checked.ok && checked.result.failures.length === 0, JSON.stringify(checked));
  const created = await host.call("create", checked.result.inputs);
  assert.ok(created.ok, !created.ok ? created.message : "");
  return { host, id: created.result.id, outs: created.result.outs, text: reg.inputs.__provider };
}
