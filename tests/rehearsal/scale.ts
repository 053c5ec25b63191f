/**
 * How the simulator's clock maps to GKE's: the simulator runs GKE time scaled by its
 * `terminationGraceScale` f (simulated ms per real ms), with a stated node boot and pod start-up.
 * One place for the figures and the caption every picture carries.
 */
import type { Timing } from "../simulator";

/** The scale of a run. */
export interface TimeScale {
  f: number;
  nodeBootMs: number;
  /** podStartMs + podReadyMs: t, the pod start-up. */
  podStartupMs: number;
  gkeNodeBootS: number;
  gkePodStartupS: number;
}

export function timeScale(t: Timing): TimeScale {
  const f = t.terminationGraceScale;
  const podStartupMs = t.podStartMs + t.podReadyMs;
  return { f, nodeBootMs: t.nodeBootMs, podStartupMs, gkeNodeBootS: Math.round(t.nodeBootMs / f / 1000), gkePodStartupS: Math.round(podStartupMs / f / 1000) };
}

/** The caption under a picture: how to read its clock. */
export function scaleCaption(s: TimeScale): string {
  return (
    `Simulated time. Pod start-up t = ${s.podStartupMs} ms, node boot ${s.nodeBootMs} ms; GKE scale: 1 s here ≈ ${Math.round(1 / s.f)} s on GKE ` +
    `(terminationGraceScale ${s.f}), so t stands for ${s.gkePodStartupS} s and a node boot for ${s.gkeNodeBootS} s.`
  );
}
