/**
 * A fault-injecting HTTP proxy in front of the simulator (127.0.0.1 only), for failure paths the
 * simulator's random faults cannot produce on purpose: a request the server APPLIED whose answer
 * is lost, one that is never answered, one held back until the test says so, or one specific
 * request answered with a chosen Status (e.g. 403 from RBAC).
 */
import * as http from "node:http";
import type { AddressInfo, Socket } from "node:net";
import * as k8s from "@kubernetes/client-node";
import type { Simulator } from "../simulator";

/** What the proxy does with one request. */
export type ProxyAction =
  | undefined                                  // forward as is
  | { respond: number; body: object }          // answer directly; the server never sees it
  | "apply-then-drop"                          // forward, let the server apply it, then cut the connection without an answer
  | "hang"                                     // accept the request and never answer (until the client gives up or the proxy stops)
  | { after: Promise<unknown> };               // forward once the promise settles

/** A running proxy. */
export interface FaultProxy {
  url: string;
  /** Kubeconfig YAML like the simulator's, pointing at the proxy. */
  kubeconfig: string;
  /** A KubeConfig like the simulator's, pointing at the proxy. */
  kubeConfig(): k8s.KubeConfig;
  stop(): Promise<void>;
}

/** Starts a proxy to `sim`; `hook(method, path)` decides each request's fate (called once per request). */
export async function startFaultProxy(sim: Simulator, hook: (method: string, path: string) => ProxyAction): Promise<FaultProxy> {
  const upstream = new URL(sim.url);
  const sockets = new Set<Socket>();
  const forward = (req: http.IncomingMessage, res: http.ServerResponse, dropAnswer: boolean) => {
    const up = http.request({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers }, (ur) => {
      if (dropAnswer) {
        ur.resume();
        ur.on("end", () => req.socket.destroy());
        return;
      }
      res.writeHead(ur.statusCode ?? 502, ur.headers);
      ur.pipe(res);
    });
    up.on("error", () => req.socket.destroy());
    res.on("close", () => up.destroy());
    req.pipe(up);
  };
  const server = http.createServer((req, res) => {
    const action = hook(req.method ?? "GET", req.url ?? "/");
    if (action === "hang") return;
    if (action === undefined || action === "apply-then-drop") return forward(req, res, action === "apply-then-drop");
    if ("after" in action) {
      req.pause();
      void action.after.finally(() => forward(req, res, false));
      return;
    }
    res.writeHead(action.respond, { "content-type": "application/json" });
    res.end(JSON.stringify(action.body));
  });
  server.on("connection", (s) => { sockets.add(s); s.on("close", () => sockets.delete(s)); });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const kubeconfig = sim.kubeconfig.split(sim.url).join(url);
  return {
    url,
    kubeconfig,
    kubeConfig() {
      const kc = new k8s.KubeConfig();
      kc.loadFromString(kubeconfig);
      return kc;
    },
    async stop() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
