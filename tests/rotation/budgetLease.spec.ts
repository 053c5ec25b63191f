/**
 * Implicit-budget reservations shared across processes through a coordination.k8s.io/v1 Lease
 * (components/rotation/budgetLease.ts, issue 19 case 2), over HTTP against the simulator with the
 * real client. Each LeaseBudget here stands for one process: its own ProcessBudget and process id.
 * Needs the simulator's Lease support (coordination.k8s.io/v1 leases).
 */
import * as assert from "node:assert/strict";
import { CoordinationV1Api, KubeConfig } from "@kubernetes/client-node";
import { startSimulator, Simulator } from "../simulator";
import { BUDGET_ANNOTATION, BUDGET_LEASE, LeaseBudget, parseBudgetRecord } from "../../components/rotation/budgetLease";
import { implicitLeft, ProcessBudget, Reservation, unreflected } from "../../components/rotation/sharedBudget";
import { scenario } from "./sim";

const WORKLOAD = "web/Deployment/web";
const r = (pod: string, holder: string): Reservation => ({ pod: `web/${pod}`, uid: `uid-${pod}`, workload: WORKLOAD, holder, pool: holder });

/** The drain's admit for a 2-replica workload without a PDB (floor 1) whose pods are all Ready in every drain's watch. */
function admit(wanted: readonly Reservation[], others: (w: string) => Reservation[]): Reservation[] {
  const out: Reservation[] = [];
  for (const x of wanted) {
    const othersUnreflected = unreflected(others(x.workload), () => true).length;
    if (implicitLeft({ ready: 2, floor: 1, ownUnreflected: out.length, othersUnreflected }) >= 1) out.push(x);
  }
  return out;
}

describe("implicit budget shared across processes (coordination.k8s.io Lease)", function () {
  this.timeout(30_000);
  let sim: Simulator;
  let kc: KubeConfig;
  let leases: CoordinationV1Api;
  const process = (id: string, now?: () => number) => new LeaseBudget(kc.makeApiClient(CoordinationV1Api), new ProcessBudget(), { processId: id, leaseDurationSeconds: 30, ...(now ? { now } : {}) });

  beforeEach(async () => {
    sim = await startSimulator({ scenario: scenario([]) });
    kc = sim.kubeConfig();
    leases = kc.makeApiClient(CoordinationV1Api);
  });
  afterEach(async () => { await sim.stop(); });

  it("a second process waits while the first holds the workload's only disruption, and sees it in the Lease", async () => {
    const a = process("proc-a"), b = process("proc-b");
    assert.deepEqual((await a.reserve("pool-a", [r("web-a", "pool-a")], admit)).map((x) => x.pod), ["web/web-a"]);
    const lease = await leases.readNamespacedLease({ ...BUDGET_LEASE });
    assert.equal(lease.spec?.holderIdentity, "proc-a");
    assert.deepEqual(parseBudgetRecord(lease)["proc-a"].reservations.map((x) => x.pod), ["web/web-a"]);
    assert.deepEqual(await b.reserve("pool-b", [r("web-b", "pool-b")], admit), [], "the other process must not take the last Ready pod");
    assert.deepEqual(b.remote(WORKLOAD).map((x) => x.holder), ["pool-a"]);
    await a.close("pool-a");
    assert.deepEqual(parseBudgetRecord(await leases.readNamespacedLease({ ...BUDGET_LEASE })), {}, "closing removes the process's entry");
    assert.deepEqual(await b.reserve("pool-b", [r("web-b", "pool-b")], admit), [], "reserve decides on the last read ...");
    await b.refresh();
    assert.deepEqual((await b.reserve("pool-b", [r("web-b", "pool-b")], admit)).map((x) => x.pod), ["web/web-b"], "... and refresh() reads the release");
    await b.close("pool-b");
  });

  it("two processes reserving the last disruption at once: exactly one gets it (409 -> re-read -> re-check)", async () => {
    for (let round = 0; round < 5; round++) {
      const a = process(`a${round}`), b = process(`b${round}`);
      const [ga, gb] = await Promise.all([a.reserve("pool-a", [r("web-a", "pool-a")], admit), b.reserve("pool-b", [r("web-b", "pool-b")], admit)]);
      assert.equal(ga.length + gb.length, 1, `round ${round}: granted ${ga.length} + ${gb.length}`);
      const rec = parseBudgetRecord(await leases.readNamespacedLease({ ...BUDGET_LEASE }));
      assert.equal(Object.values(rec).flatMap((e) => e.reservations).length, 1, "the Lease holds exactly the granted reservation");
      await a.close("pool-a");
      await b.close("pool-b");
    }
  });

  it("a crashed process's reservations stop counting one lease duration after its last renewal (by the reader's clock)", async () => {
    const a = process("crashed");
    await a.reserve("pool-a", [r("web-a", "pool-a")], admit);
    a.stop(); // no renewal, no close: the process died
    let clock = Date.now();
    const b = process("survivor", () => clock);
    assert.deepEqual(await b.reserve("pool-b", [r("web-b", "pool-b")], admit), [], "live at first sight");
    clock += 29_000;
    assert.deepEqual(await b.reserve("pool-b", [r("web-b", "pool-b")], admit), [], "still live before its duration");
    clock += 2_000;
    assert.deepEqual((await b.reserve("pool-b", [r("web-b", "pool-b")], admit)).map((x) => x.pod), ["web/web-b"]);
    const rec = parseBudgetRecord(await leases.readNamespacedLease({ ...BUDGET_LEASE }));
    assert.deepEqual(Object.keys(rec), ["survivor"], "the expired entry was dropped by the next writer");
    await b.close("pool-b");
  });

  it("an unreadable annotation counts as empty and is replaced by the next write", async () => {
    await leases.createNamespacedLease({ namespace: BUDGET_LEASE.namespace, body: { metadata: { name: BUDGET_LEASE.name, annotations: { [BUDGET_ANNOTATION]: "{not json" } }, spec: {} } });
    const a = process("proc-a");
    assert.equal((await a.reserve("pool-a", [r("web-a", "pool-a")], admit)).length, 1);
    assert.deepEqual(Object.keys(parseBudgetRecord(await leases.readNamespacedLease({ ...BUDGET_LEASE }))), ["proc-a"]);
    await a.close("pool-a");
  });
});
