/**
 * npm run sim -- --scenario FILE --kubeconfig OUT [--port N] [timing and fault flags]
 * Starts the simulator, writes a kubeconfig pointing at it, and serves until SIGINT/SIGTERM.
 */
import * as fs from "node:fs";
import { Command, InvalidArgumentError } from "commander";
import { startSimulator, Timing, Faults } from "./index";

function num(name: string, opts: { int?: boolean; max?: number } = {}) {
  return (v: string): number => {
    const n = Number(v);
    if (v.trim() === "" || !Number.isFinite(n) || n < 0 || (opts.int && !Number.isInteger(n)) || (opts.max !== undefined && n > opts.max)) {
      throw new InvalidArgumentError(`${name} must be a ${opts.int ? "non-negative integer" : "non-negative number"}${opts.max !== undefined ? ` <= ${opts.max}` : ""} (got "${v}")`);
    }
    return n;
  };
}

export async function main(argv: string[]): Promise<void> {
  const program = new Command()
    .name("npm run sim --")
    .description("Kubernetes API simulator: loads a scenario (multi-document YAML of manifests) and serves it on 127.0.0.1")
    .requiredOption("--scenario <file>", "scenario YAML (Namespace, Node, Pod, Deployment, ReplicaSet, StatefulSet, DaemonSet, Job, PodDisruptionBudget, PersistentVolume, PersistentVolumeClaim, Lease, ConfigMap kube-system/simulator)")
    .requiredOption("--kubeconfig <out>", "where to write a kubeconfig pointing at the simulator")
    .option("--port <n>", "port on 127.0.0.1 (default: OS-chosen)", num("--port", { int: true, max: 65535 }))
    .option("--pod-start-ms <ms>", "Pending -> Running delay once bound", num("--pod-start-ms"))
    .option("--pod-ready-ms <ms>", "Running -> Ready delay", num("--pod-ready-ms"))
    .option("--termination-grace-scale <f>", "factor applied to terminationGracePeriodSeconds (0.001: 30 s -> 30 ms)", num("--termination-grace-scale"))
    .option("--node-boot-ms <ms>", "delay before new nodes report Ready", num("--node-boot-ms"))
    .option("--disruption-lag-ms <ms>", "the disruption controller syncs a PDB this long (seeded jitter: half to all of it) after the change that queued it", num("--disruption-lag-ms"))
    .option("--workload-lag-ms <ms>", "the same lag for the Deployment, ReplicaSet, StatefulSet, DaemonSet and Job controllers", num("--workload-lag-ms"))
    .option("--lag-seed <n>", "seed of the lag jitter", num("--lag-seed", { int: true }))
    .option("--fault-seed <n>", "seed for injected faults", num("--fault-seed", { int: true }))
    .option("--error-rate <f>", "fraction of API requests answered 500/503", num("--error-rate", { max: 1 }))
    .option("--retry-after-rate <f>", "fraction answered 429 with Retry-After", num("--retry-after-rate", { max: 1 }))
    .option("--drop-rate <f>", "fraction of connections dropped without an answer", num("--drop-rate", { max: 1 }))
    .option("--watch-close-rate <f>", "fraction of watches closed early", num("--watch-close-rate", { max: 1 }))
    .option("--latency-ms <ms>", "latency added to every API request", num("--latency-ms"))
    .option("--pdb-conflicts <n>", "the next N evictions that reach the PDB status write answer 409 Conflict on the PDB", num("--pdb-conflicts", { int: true }))
    .option("--pdb-conflict-rate <f>", "fraction of those evictions answered so (seeded by --fault-seed)", num("--pdb-conflict-rate", { max: 1 }))
    .option("--log-requests", "print each request (method, URL, Accept) to stderr")
    .showHelpAfterError();
  program.parse(argv);
  const o = program.opts();
  if (!fs.existsSync(o.scenario)) {
    process.stderr.write(`simulator: --scenario: file not found: ${o.scenario}\n`);
    process.exitCode = 2;
    return;
  }
  const timing: Partial<Timing> = {};
  if (o.podStartMs !== undefined) timing.podStartMs = o.podStartMs;
  if (o.podReadyMs !== undefined) timing.podReadyMs = o.podReadyMs;
  if (o.terminationGraceScale !== undefined) timing.terminationGraceScale = o.terminationGraceScale;
  if (o.nodeBootMs !== undefined) timing.nodeBootMs = o.nodeBootMs;
  if (o.disruptionLagMs !== undefined) timing.disruptionLagMs = o.disruptionLagMs;
  if (o.workloadLagMs !== undefined) timing.workloadLagMs = o.workloadLagMs;
  if (o.lagSeed !== undefined) timing.lagSeed = o.lagSeed;
  const faults: Partial<Faults> = {};
  if (o.faultSeed !== undefined) faults.seed = o.faultSeed;
  if (o.errorRate !== undefined) faults.errorRate = o.errorRate;
  if (o.retryAfterRate !== undefined) faults.retryAfterRate = o.retryAfterRate;
  if (o.dropRate !== undefined) faults.dropRate = o.dropRate;
  if (o.watchCloseRate !== undefined) faults.watchCloseRate = o.watchCloseRate;
  if (o.latencyMs !== undefined) faults.latencyMs = o.latencyMs;
  if (o.pdbConflicts !== undefined) faults.pdbConflicts = o.pdbConflicts;
  if (o.pdbConflictRate !== undefined) faults.pdbConflictRate = o.pdbConflictRate;
  let sim;
  try {
    sim = await startSimulator({ scenarioFile: o.scenario, port: o.port, timing, faults, log: o.logRequests ? (l) => process.stderr.write(`${l}\n`) : undefined });
  } catch (e) {
    process.stderr.write(`simulator: ${(e as Error).message}\n`);
    process.exitCode = 1;
    return;
  }
  sim.writeKubeconfig(o.kubeconfig);
  process.stderr.write(`simulator: serving ${sim.url}; kubeconfig written to ${o.kubeconfig}; report at ${sim.url}/simulator/report\n`);
  process.stdout.write(`${sim.url}\n`);
  // SIGINT/SIGTERM stop the simulator and free its port. `npm run sim` reaches this process
  // because the script `exec`s it: without that, npm signals the `sh -c` between them, which
  // dies without passing the signal on and leaves this process running with the port held.
  // A second signal (or a stop that hangs) exits at once.
  let stopping = false;
  const stop = (sig: NodeJS.Signals) => {
    if (stopping) process.exit(130);
    stopping = true;
    process.stderr.write(`simulator: ${sig}: stopping\n`);
    setTimeout(() => process.exit(1), 5000).unref();
    sim!.stop().then(() => process.exit(0), () => process.exit(1));
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}

if (require.main === module) {
  main(process.argv).catch((e) => {
    process.stderr.write(`simulator: ${(e as Error).message}\n`);
    process.exit(1);
  });
}
