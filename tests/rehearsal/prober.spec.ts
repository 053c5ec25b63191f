import * as assert from "node:assert/strict";
import { isReadyEndpoint, selectorMatches } from "./prober";
import { implicitFloor, pdbFloor, scaledValue } from "./workloads";

describe("rehearsal prober rules", () => {
  it("a ready endpoint is Ready=True and not terminating (as the EndpointSlice/disruption controllers count)", () => {
    const ready = { status: { conditions: [{ type: "Ready", status: "True" }] } };
    assert.equal(isReadyEndpoint(ready as any), true);
    assert.equal(isReadyEndpoint({ status: { conditions: [{ type: "Ready", status: "False" }] } } as any), false);
    assert.equal(isReadyEndpoint({ ...ready, metadata: { deletionTimestamp: new Date() } } as any), false);
    assert.equal(isReadyEndpoint({} as any), false);
  });

  it("label selectors: matchLabels and every matchExpressions operator", () => {
    const labels = { app: "api", tier: "web" };
    assert.equal(selectorMatches({ matchLabels: { app: "api" } }, labels), true);
    assert.equal(selectorMatches({ matchLabels: { app: "nginx" } }, labels), false);
    assert.equal(selectorMatches({ matchExpressions: [{ key: "tier", operator: "In", values: ["web", "db"] }] }, labels), true);
    assert.equal(selectorMatches({ matchExpressions: [{ key: "tier", operator: "NotIn", values: ["web"] }] }, labels), false);
    assert.equal(selectorMatches({ matchExpressions: [{ key: "canary", operator: "DoesNotExist" }] }, labels), true);
    assert.equal(selectorMatches({ matchExpressions: [{ key: "canary", operator: "Exists" }] }, labels), false);
    assert.equal(selectorMatches(undefined, labels), false, "no selector selects nothing");
  });

  it("PDB floors scale percentages up, as the disruption controller does", () => {
    assert.equal(scaledValue("20%", 10), 2);
    assert.equal(scaledValue("25%", 3), 1);
    assert.equal(scaledValue(4, 5), 4);
    assert.equal(pdbFloor({ spec: { minAvailable: 4 } } as any, 5), 4);
    assert.equal(pdbFloor({ spec: { maxUnavailable: "20%" } } as any, 10), 8);
    assert.equal(pdbFloor({ spec: { minAvailable: "50%" } } as any, 3), 2);
    assert.equal(pdbFloor({ spec: { maxUnavailable: 1 } } as any, 3), 2);
    assert.throws(() => scaledValue("lots", 3), /invalid IntOrString/);
  });

  it("implicit floors: the budget's percentage rounded up, at least 1 unavailable, none = no promise", () => {
    assert.equal(implicitFloor("25%", 6), 4);
    assert.equal(implicitFloor(undefined, 6), 4, "the engine's default, 25%");
    assert.equal(implicitFloor("25%", 3), 2);
    assert.equal(implicitFloor("25%", 1), 0, "a single replica can still move");
    assert.equal(implicitFloor(2, 10), 8);
    assert.equal(implicitFloor("100%", 4), 0);
    assert.equal(implicitFloor("none", 6), null);
  });
});
