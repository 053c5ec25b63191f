/**
 * Values that are unknown during `pulumi preview` (an output of a resource not created yet).
 *
 * How @pulumi/policy 1.21 represents them (node_modules/@pulumi/policy/proxy.js, server.js):
 * the engine sends a sentinel string per unknown value; the SDK keeps it in `args.props` and wraps
 * the props in `unknownCheckingProxy`, which throws `UnknownValueError` as soon as a policy reads
 * such a property. If that error escapes a policy, the server turns it into an advisory
 * "can't run policy ... during preview" diagnostic and — for a stack policy — skips the rest of the
 * stack. So every read in this pack goes through `known()`: an unknown value is never reported, it
 * only makes the one check that needs it stand aside, and the other checks keep running.
 */

// UnknownValueError is exported by the SDK's proxy module at runtime but marked @internal (no typings).
// eslint-disable-next-line @typescript-eslint/no-var-requires
const proxy: { UnknownValueError: new (...args: any[]) => Error } = require("@pulumi/policy/proxy");

/** Marker returned by `known()` when a value cannot be known until the update runs. */
export const UNKNOWN: unique symbol = Symbol("unknown during preview");
export type Unknown = typeof UNKNOWN;

/** True for the error the policy SDK throws when a policy touches an unknown value. */
export function isUnknownValueError(err: unknown): boolean {
    return err instanceof proxy.UnknownValueError;
}

/**
 * Reads a value, returning `UNKNOWN` instead of throwing when the read touches a value that is
 * unknown during preview. `undefined` still means "not set".
 */
export function known<T>(read: () => T): T | Unknown {
    try {
        return read();
    } catch (err) {
        if (isUnknownValueError(err)) {
            return UNKNOWN;
        }
        throw err;
    }
}

/** True when `value` is the `UNKNOWN` marker. */
export function isUnknown(value: unknown): value is Unknown {
    return value === UNKNOWN;
}

/**
 * A plain deep copy (JSON data) of what `read` returns, or `UNKNOWN` if any value inside it is
 * unknown. Use for small subtrees a check needs whole (a PDB's selector and budget).
 */
export function plain<T>(read: () => T): T | Unknown {
    return known(() => {
        const v = read();
        return v === undefined ? v : (JSON.parse(JSON.stringify(v)) as T);
    });
}
