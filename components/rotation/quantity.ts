/**
 * Kubernetes resource quantities ("100m", "1.5", "128Mi", "1G", "1e3") as plain numbers.
 * CPU is returned in millicores, everything else in base units (bytes, count).
 * Format: k8s.io/apimachinery/pkg/api/resource/quantity.go (binary Ki..Ei, decimal n..E, exponent).
 */
const SUFFIX: Record<string, number> = {
  n: 1e-9, u: 1e-6, m: 1e-3, "": 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18,
  Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3, Ti: 1024 ** 4, Pi: 1024 ** 5, Ei: 1024 ** 6,
};
const QUANTITY_RE = /^([+-]?[0-9.]+(?:[eE][+-]?[0-9]+)?)(n|u|m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$/;

/** Parses a quantity into base units; throws on malformed input so bad manifests are loud. */
export function parseQuantity(q: string | number | undefined | null): number {
  if (q === undefined || q === null || q === "") return 0;
  if (typeof q === "number") return q;
  const m = QUANTITY_RE.exec(String(q).trim());
  if (!m) throw new Error(`invalid resource quantity "${q}"`);
  return parseFloat(m[1]) * SUFFIX[m[2] ?? ""];
}

/** CPU quantity in millicores (rounded up like the scheduler does). */
export function cpuMillis(q: string | number | undefined | null): number {
  return Math.ceil(parseQuantity(q) * 1000 - 1e-9);
}
