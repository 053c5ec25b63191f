import * as pulumi from "@pulumi/pulumi";
import * as assert from "node:assert/strict";
describe("smoke", () => {
  it("mocks", async () => {
    pulumi.runtime.setMocks({
      newResource: (a) => ({ id: a.name + "_id", state: a.inputs }),
      call: (a) => a.inputs,
    }, "proj", "staging", false);
    const gcp = await import("@pulumi/gcp");
    const np = new gcp.container.NodePool("x", { cluster: "c", name: "pool-a", nodeCount: 1 });
    const n = await new Promise((r) => np.name.apply(r));
    assert.equal(n, "pool-a");
  });
});
