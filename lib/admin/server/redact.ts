/**
 * A proxy's config as the admin API shows it: the client sends its whole
 * `[[proxies]]` entry, secrets included (`secretKey` of stcp/sudp/xtcp,
 * `httpPassword`, `groupKey`, a plugin's `password`, an `Authorization`
 * header to set...). The server needs some of them to run the proxy, but the
 * dashboard and API readers must never see them: every non-empty value whose
 * key names a secret becomes `"******"`, at any depth.
 *
 * @example
 * ```ts
 * import { redactSecrets } from "./redact.ts";
 * redactSecrets({ name: "db", secretKey: "abc", localPort: 5432 });
 * // { name: "db", secretKey: "******", localPort: 5432 }
 * ```
 *
 * @module
 */

/**
 * What a secret's value is replaced with.
 *
 * @example
 * ```ts
 * import { REDACTED, redactSecrets } from "./redact.ts";
 * redactSecrets({ token: "t" }).token === REDACTED; // true
 * ```
 */
export const REDACTED = "******";

// Key names that hold secrets: frp's secretKey, sk, groupKey, httpPassword, token...
const SECRET_KEY =
  /password|passwd|pwd$|secret|token|credential|authorization|cookie|key$|keypath$|crtpath$|proof$|^sk$/i;

/**
 * A copy of `value` with the values of secret-named keys replaced by
 * {@linkcode REDACTED}; see the module doc.
 *
 * @example
 * ```ts
 * import { redactSecrets } from "./redact.ts";
 * redactSecrets({ plugin: { type: "http_proxy", httpPassword: "pw" } });
 * // { plugin: { type: "http_proxy", httpPassword: "******" } }
 * ```
 */
export function redactSecrets<T>(value: T): T {
  if (Array.isArray(value)) return value.map(redactSecrets) as T;
  if (value === null || typeof value !== "object") return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    const empty = v === undefined || v === null || v === "";
    out[k] = SECRET_KEY.test(k) && !empty ? REDACTED : redactSecrets(v);
  }
  return out as T;
}
