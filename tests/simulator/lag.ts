/**
 * Seeded controller lag. In kube-controller-manager every controller has its own informers, work
 * queue and workers (pkg/controller/disruption/disruption.go: `dc.queue`, `recheckQueue`;
 * statefulset, replicaset, deployment likewise), so a PDB's status is written some time after the
 * pods it counts changed, and a StatefulSet recreates an evicted pod some time after it is gone.
 * Between those moments a client reads intermediate statuses, e.g. `expectedPods: 2` for a
 * 3-replica StatefulSet under an integer `minAvailable` while its evicted pod is not recreated yet
 * (getExpectedPodCount counts the pods it sees for an integer minAvailable).
 *
 * Off by default (the simulator's controllers then run in one fixed order on the next turn of the
 * event loop). With `disruptionLagMs` / `workloadLagMs` (timing knobs) a reconcile queued for that
 * controller runs after a delay drawn, from `lagSeed`, between half and all of the lag; a key
 * already waiting is not queued twice (a work queue coalesces), and the reconcile reads the state at
 * the time it runs, as a controller reads its informer cache.
 */
import type { Cluster, Queue } from "./cluster";
import { mulberry32 } from "./util";

const WORKLOAD_QUEUES: Queue[] = ["deployments", "replicasets", "statefulsets", "daemonsets", "jobs"];

export class ControllerLag {
  private waiting = new Set<string>();
  private rand: () => number;
  private seed: number;

  constructor(private c: Cluster) {
    this.seed = c.timing.lagSeed;
    this.rand = mulberry32(this.seed);
  }

  private lagOf(q: Queue): number {
    if (q === "pdbs") return this.c.timing.disruptionLagMs;
    if (WORKLOAD_QUEUES.includes(q)) return this.c.timing.workloadLagMs;
    return 0;
  }

  /** Defers a reconcile of `key` by `q` when that controller lags; false when it runs without lag. */
  defer(q: Queue, key: string): boolean {
    const lag = this.lagOf(q);
    if (!(lag > 0)) return false;
    if (this.seed !== this.c.timing.lagSeed) {
      // a new seed (timing changed at run time) restarts the sequence
      this.seed = this.c.timing.lagSeed;
      this.rand = mulberry32(this.seed);
    }
    const id = `${q} ${key}`;
    if (this.waiting.has(id)) return true;
    this.waiting.add(id);
    const delay = Math.round(lag / 2 + this.rand() * (lag / 2));
    this.c.timers.after(delay, () => {
      this.waiting.delete(id);
      this.c.enqueueNow(q, key);
    });
    return true;
  }
}
