/**
 * The drain's per-pod memo (components/rotation/podFacts.ts) over the real decidePod, Controllers
 * and PdbIndex: answers are computed once per pod version, a new version is decided again, and
 * the workload and the PDB match follow ReplicaSet and PDB-selector changes once told. The drain
 * itself is pinned on the simulator by drain/implicit/failure specs (a PDB created mid-drain, a
 * rollout's ReplicaSets, a blocked pod appearing mid-drain).
 */
import * as assert from "node:assert/strict";
import { decidePod } from "../../components/rotation/filters";
import { keyOf, PdbIndex } from "../../components/rotation/pdb";
import { PodFacts } from "../../components/rotation/podFacts";
import { Controllers } from "../../components/rotation/workloads";
import { pdb, pod } from "./fixtures";

function setup() {
  const controllers = new Controllers();
  const pdbs = new Map<string, any>();
  let index = new PdbIndex();
  let decided = 0, matched = 0;
  const facts = new PodFacts({
    decide: (p) => { decided++; return decidePod(p); },
    workloadOf: (p) => controllers.workloadOf(p),
    matchPdbs: (p) => { matched++; return index.match(p); },
    pdb: (k) => pdbs.get(k),
  });
  const putPdb = (b: any) => { pdbs.set(keyOf(b), b); index = new PdbIndex(pdbs.values()); };
  return { facts, controllers, putPdb, counts: () => ({ decided, matched }) };
}

describe("rotation pod facts (the drain's per-pod memo)", () => {
  it("decides a pod version once; its next version (now terminating) is decided again", () => {
    const { facts, counts } = setup();
    const v1 = pod("a", "web-1", "n1");
    assert.equal(facts.decision(v1).verdict, "evict");
    assert.equal(facts.decision(v1).verdict, "evict");
    assert.equal(counts().decided, 1);
    const v2 = { ...v1, metadata: { ...v1.metadata, deletionTimestamp: "2026-12-01T00:00:00Z" } };
    assert.equal(facts.decision(v2).verdict, "terminating");
    assert.equal(counts().decided, 2);
  });

  it("a PDB's status update reaches the match without re-matching; a new selector is matched once the drain says so", () => {
    const { facts, putPdb, counts } = setup();
    const p = pod("a", "web-1", "n1", { labels: { app: "web" } });
    putPdb(pdb("a", "web", { app: "web" }, { maxUnavailable: 1 }, { disruptionsAllowed: 1 }));
    assert.deepEqual(facts.pdbKeys(p), ["a/web"]);
    putPdb(pdb("a", "web", { app: "web" }, { maxUnavailable: 1 }, { disruptionsAllowed: 0 }));
    assert.equal(facts.pdbs(p)[0]?.status?.disruptionsAllowed, 0, "the current object, not the one matched");
    assert.equal(counts().matched, 1);
    putPdb(pdb("a", "web", { app: "other" }, { maxUnavailable: 1 }));
    assert.deepEqual(facts.pdbKeys(p), ["a/web"], "memoised until told");
    facts.pdbsChanged();
    assert.deepEqual(facts.pdbKeys(p), []);
    assert.equal(counts().matched, 2);
  });

  it("a pod's workload follows its ReplicaSet's owner once the drain says ReplicaSets changed", () => {
    const { facts, controllers } = setup();
    const p = pod("a", "api-1", "n1", { owner: { kind: "ReplicaSet", name: "api-rs" }, templateHash: "" });
    assert.equal(facts.workload(p), "a/ReplicaSet/api-rs");
    controllers.set("ReplicaSet", { metadata: { namespace: "a", name: "api-rs", ownerReferences: [{ apiVersion: "apps/v1", kind: "Deployment", name: "api", uid: "uid-api", controller: true }] } });
    assert.equal(facts.workload(p), "a/ReplicaSet/api-rs", "memoised until told");
    const before = facts.workloadsVersion;
    facts.workloadsChanged();
    assert.notEqual(facts.workloadsVersion, before);
    assert.equal(facts.workload(p), "a/Deployment/api");
  });
});
