// The policy pack entry point run by `pulumi preview --policy-pack policy`. Constructing a
// PolicyPack starts the analyzer gRPC server, so nothing may import this file: the policies live
// in ./policies.ts, which tests import directly.
import { PolicyPack } from "@pulumi/policy";
import { DEFAULT_ENFORCEMENT, policies } from "./policies";

new PolicyPack("nodepool-rotation", { enforcementLevel: DEFAULT_ENFORCEMENT, policies });
