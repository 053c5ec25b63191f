/**
 * The draining process of the scale bench (tests/bench/scale.ts): runs `drainPool` in a process of
 * its own, as the Pulumi dynamic-provider host or the rotation CLI do, so its peak RSS is the
 * engine's alone (the simulator runs in the bench's process). Prints one JSON line on stdout:
 * the drain summary, the peak RSS (getrusage maxrss) and the memory sampled every 100 ms.
 *
 *   node -r ts-node/register/transpile-only tests/bench/drainProcess.ts KUBECONFIG POOL OPTIONS_JSON
 */
import { KubeConfig } from "@kubernetes/client-node";
import { drainPool } from "../../components/rotation";

/** CPU time (user + system) this process used so far, ms. */
function cpuMs(): number {
  const u = process.cpuUsage();
  return Math.round((u.user + u.system) / 1000);
}

async function main(): Promise<void> {
  const [kubeconfig, pool, optionsJson] = process.argv.slice(2);
  if (!kubeconfig || !pool) throw new Error("usage: drainProcess.ts KUBECONFIG POOL [OPTIONS_JSON]");
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfig);
  const samples: { t: number; rssMiB: number; heapMiB: number }[] = [];
  const t0 = Date.now();
  const mib = (b: number) => Math.round(b / 2 ** 20);
  const sample = () => {
    const m = process.memoryUsage();
    samples.push({ t: Date.now() - t0, rssMiB: mib(m.rss), heapMiB: mib(m.heapUsed) });
  };
  sample();
  const timer = setInterval(sample, 100);
  const lines: string[] = [];
  try {
    const summary = await drainPool(kc, { pool, ...(optionsJson ? JSON.parse(optionsJson) : {}), log: (l) => lines.push(l) });
    sample();
    const peak = samples.reduce((a, b) => (b.rssMiB > a.rssMiB ? b : a));
    process.stdout.write(JSON.stringify({
      ok: true, summary, maxRssMiB: Math.round(process.resourceUsage().maxRSS / 1024), peakSample: peak, cpuMs: cpuMs(),
      startRssMiB: samples[0].rssMiB, log: lines.slice(-5),
    }) + "\n");
  } catch (e: any) {
    process.stdout.write(JSON.stringify({ ok: false, error: e?.message ?? String(e), maxRssMiB: Math.round(process.resourceUsage().maxRSS / 1024), log: lines.slice(-20) }) + "\n");
  } finally {
    clearInterval(timer);
  }
}

main().then(() => process.stdout.write("", () => process.exit(0)), (e) => {
  process.stderr.write(`drainProcess: ${e?.message ?? e}\n`);
  process.exit(2);
});
