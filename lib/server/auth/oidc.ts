/**
 * `auth.method = "oidc"` on the server: a client's access token is a JWT
 * signed by the issuer (`auth.oidc.issuer`). The issuer's discovery document
 * (`/.well-known/openid-configuration`) names its JWKS; the token must be
 * signed by one of those keys with an asymmetric algorithm (never
 * `alg: none`), carry the issuer (unless `skipIssuerCheck`), the audience
 * (when `auth.oidc.audience` is set) and not be expired (unless
 * `skipExpiryCheck`). A token whose key id the cached JWKS lacks refetches
 * the JWKS, at most once per `auth.oidc.jwksRefetchInterval` seconds, so the
 * issuer can rotate keys without a restart.
 *
 * The claim `auth.oidc.userClaim` (default `sub`) is the client's identity:
 * with `[[auth.users]]` entries it picks the entry (and none matching is a
 * refusal); heartbeats and pooled work connections under
 * `auth.additionalScopes` must carry a token with the same identity.
 *
 * @example
 * ```ts
 * import { OidcRefusal, oidcVerifierOf } from "./oidc.ts";
 * import { defaultServerConfig } from "../../config/mod.ts";
 * const config = defaultServerConfig();
 * config.auth.method = "oidc";
 * config.auth.oidc.issuer = "https://issuer.example";
 * try {
 *   const { identity } = await oidcVerifierOf(config).verify("eyJ...");
 *   console.log(identity);
 * } catch (err) {
 *   if (err instanceof OidcRefusal) console.log("refused:", err.message);
 * }
 * ```
 *
 * @module
 */

import {
  createRemoteJWKSet,
  decodeProtectedHeader,
  errors,
  type JWTPayload,
  jwtVerify,
} from "jose";
import type { ServerConfig } from "../../config/mod.ts";

/** The token is not acceptable: a failed login (counted against the address). */
export class OidcRefusal extends Error {
  override name = "OidcRefusal";
}

/** The issuer could not be asked (down, bad discovery document): not the client's fault. */
export class OidcUnavailable extends Error {
  override name = "OidcUnavailable";
}

/** Signature algorithms a JWKS key can verify; HMAC and `none` are refused. */
export const OIDC_ALGORITHMS = [
  "RS256",
  "RS384",
  "RS512",
  "PS256",
  "PS384",
  "PS512",
  "ES256",
  "ES384",
  "ES512",
  "EdDSA",
  "Ed25519",
];

/** How long one discovery or JWKS request may take. */
const FETCH_TIMEOUT_MS = 10_000;
/** After a failed discovery, logins are refused with its error this long before it is retried. */
const DISCOVERY_RETRY_MS = 2_000;

/** The verifier's settings (`auth.oidc.*`). */
export type OidcServerOptions = ServerConfig["auth"]["oidc"];

/** A verified token. */
export interface OidcIdentity {
  /** The value of the identity claim (`userClaim`, default `sub`). */
  identity: string;
  claims: JWTPayload;
}

type KeySet = ReturnType<typeof createRemoteJWKSet>;

/** See the module doc. One per server config (see {@linkcode oidcVerifierOf}). */
export class OidcVerifier {
  #keys: Promise<KeySet> | null = null;
  /** When the last discovery failed: the time from which the next login asks again. */
  #retryAfter = 0;

  /** @param options `auth.oidc` of the server config */
  constructor(readonly options: OidcServerOptions) {}

  /** The issuer URL without a trailing slash. */
  get issuer(): string {
    return this.options.issuer.replace(/\/+$/, "");
  }

  /** The JWKS of the issuer, found through its discovery document once. */
  #keySet(): Promise<KeySet> {
    if (!this.#keys) {
      const keys = this.#keys = this.#discover();
      // A failed discovery is retried by a login after DISCOVERY_RETRY_MS (not by every login).
      const failedAt = Date.now();
      keys.catch(() => {
        this.#retryAfter = failedAt + DISCOVERY_RETRY_MS;
      });
    } else if (this.#retryAfter && Date.now() >= this.#retryAfter) {
      this.#retryAfter = 0;
      this.#keys = null;
      return this.#keySet();
    }
    return this.#keys;
  }

  async #discover(): Promise<KeySet> {
    const url = `${this.issuer}/.well-known/openid-configuration`;
    let doc: { issuer?: unknown; jwks_uri?: unknown };
    try {
      const resp = await fetch(url, { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
      if (!resp.ok) {
        await resp.body?.cancel();
        throw new Error(`HTTP ${resp.status}`);
      }
      doc = await resp.json();
    } catch (err) {
      throw new OidcUnavailable(
        `cannot read the OIDC discovery document ${url}: ${(err as Error).message}`,
      );
    }
    const published = String(doc.issuer ?? "").replace(/\/+$/, "");
    if (!this.options.skipIssuerCheck && published !== this.issuer) {
      throw new OidcUnavailable(
        `the discovery document at ${url} names issuer [${doc.issuer}], not [${this.options.issuer}]`,
      );
    }
    if (typeof doc.jwks_uri !== "string" || !URL.canParse(doc.jwks_uri)) {
      throw new OidcUnavailable(`the discovery document at ${url} has no valid jwks_uri`);
    }
    return createRemoteJWKSet(new URL(doc.jwks_uri), {
      cooldownDuration: Math.max(0, this.options.jwksRefetchInterval) * 1000,
      timeoutDuration: FETCH_TIMEOUT_MS,
    });
  }

  /**
   * Verifies `token`; throws {@linkcode OidcRefusal} saying why it is not
   * acceptable, or {@linkcode OidcUnavailable} when the issuer cannot be asked.
   */
  async verify(token: unknown): Promise<OidcIdentity> {
    if (typeof token !== "string" || token === "") {
      throw new OidcRefusal("no OIDC access token was sent (is auth.method oidc on the client?)");
    }
    let alg: unknown;
    try {
      alg = decodeProtectedHeader(token).alg;
    } catch {
      throw new OidcRefusal("the OIDC access token is not a JWT");
    }
    if (typeof alg !== "string" || alg.toLowerCase() === "none") {
      throw new OidcRefusal("the OIDC access token is unsigned (alg none)");
    }
    if (!OIDC_ALGORITHMS.includes(alg)) {
      throw new OidcRefusal(`the OIDC access token's algorithm ${alg} is not allowed`);
    }
    const keys = await this.#keySet();
    const { options } = this;
    let claims: JWTPayload;
    try {
      ({ payload: claims } = await jwtVerify(token, keys, {
        algorithms: OIDC_ALGORITHMS,
        issuer: options.skipIssuerCheck ? undefined : [this.issuer, `${this.issuer}/`],
        audience: options.audience || undefined,
        // frp (go-oidc) skips both exp and nbf with skipExpiryCheck.
        clockTolerance: options.skipExpiryCheck ? Number.MAX_SAFE_INTEGER : 0,
      }));
    } catch (err) {
      throw this.#explain(err as Error);
    }
    const value = claims[options.userClaim || "sub"];
    if (typeof value !== "string" || value === "") {
      throw new OidcRefusal(`the OIDC access token has no ${options.userClaim || "sub"} claim`);
    }
    return { identity: value, claims };
  }

  #explain(err: Error): Error {
    const why = "OIDC access token refused";
    if (err instanceof errors.JWTExpired) {
      const exp = Number(err.payload.exp);
      return new OidcRefusal(`${why}: it expired at ${new Date(exp * 1000).toISOString()}`);
    }
    if (err instanceof errors.JWTClaimValidationFailed) {
      const got = JSON.stringify(err.payload[err.claim] ?? null);
      if (err.claim === "aud") {
        return new OidcRefusal(`${why}: audience ${got} is not [${this.options.audience}]`);
      }
      if (err.claim === "iss") {
        return new OidcRefusal(`${why}: issuer ${got} is not [${this.options.issuer}]`);
      }
      return new OidcRefusal(`${why}: claim ${err.claim}: ${err.message}`);
    }
    if (err instanceof errors.JWKSNoMatchingKey) {
      return new OidcRefusal(`${why}: it is not signed by a key the issuer publishes`);
    }
    if (err instanceof errors.JWSSignatureVerificationFailed) {
      return new OidcRefusal(`${why}: its signature does not verify with the issuer's key`);
    }
    if (err instanceof errors.JWKSTimeout || err instanceof errors.JWKSInvalid) {
      return new OidcUnavailable(`cannot read the issuer's JWKS: ${err.message}`);
    }
    if (err instanceof errors.JOSEError) return new OidcRefusal(`${why}: ${err.message}`);
    // fetch() failures of the JWKS endpoint.
    return new OidcUnavailable(`cannot read the issuer's JWKS: ${err.message}`);
  }
}

const verifiers = new WeakMap<object, OidcVerifier>();

/**
 * The verifier of `config` (one per loaded config, so its JWKS cache lives
 * as long as the server runs with that config).
 *
 * @example
 * ```ts
 * import { oidcVerifierOf } from "./oidc.ts";
 * import { defaultServerConfig } from "../../config/mod.ts";
 * const verifier = oidcVerifierOf(defaultServerConfig());
 * console.log(verifier.issuer); // ""
 * ```
 */
export function oidcVerifierOf(config: ServerConfig): OidcVerifier {
  let verifier = verifiers.get(config.auth);
  if (!verifier) verifiers.set(config.auth, verifier = new OidcVerifier(config.auth.oidc));
  return verifier;
}

/** The identity each OIDC login proved, keyed by its `Login` message. */
const identities = new WeakMap<object, string>();

/**
 * Checks a login's token and picks its user. Resolves to the user the
 * client runs as: with `[[auth.users]]` entries, the entry named by the
 * identity claim (the client's `user` must be empty or the same); without,
 * the client's own `user`. Throws like {@linkcode OidcVerifier.verify}.
 *
 * @example
 * ```ts
 * import { verifyOidcLogin } from "./oidc.ts";
 * import { defaultServerConfig } from "../../config/mod.ts";
 * const login = { user: "", accessToken: "eyJ..." };
 * const user = await verifyOidcLogin(defaultServerConfig(), login);
 * ```
 */
export async function verifyOidcLogin(
  config: ServerConfig,
  login: { user?: unknown; accessToken?: unknown },
): Promise<string> {
  const { identity } = await oidcVerifierOf(config).verify(login.accessToken);
  const user = typeof login.user === "string" ? login.user : "";
  identities.set(login, identity);
  if (config.auth.users.length === 0) return user;
  const claim = config.auth.oidc.userClaim || "sub";
  if (!config.auth.users.some((u) => u.user === identity)) {
    throw new OidcRefusal(`no [[auth.users]] entry for the token's ${claim} [${identity}]`);
  }
  if (user !== "" && user !== identity) {
    throw new OidcRefusal(`user [${user}] does not match the token's ${claim} [${identity}]`);
  }
  return identity;
}

/**
 * Whether `auth.additionalScopes` asks for a token on `scope` messages
 * under OIDC (with token auth every such message is already proven).
 *
 * @example
 * ```ts
 * import { oidcScopeOn } from "./oidc.ts";
 * import { defaultServerConfig } from "../../config/mod.ts";
 * oidcScopeOn(defaultServerConfig(), "HeartBeats"); // false
 * ```
 */
export function oidcScopeOn(
  config: ServerConfig,
  scope: "HeartBeats" | "NewWorkConns",
): boolean {
  return config.auth.method === "oidc" && config.auth.additionalScopes.includes(scope);
}

/**
 * Checks the token of a heartbeat or pooled work connection of the client
 * that logged in with `login`: valid, and the same identity as at login.
 * Resolves to "" or the reason to refuse it.
 *
 * @example
 * ```ts
 * import { checkScopedToken } from "./oidc.ts";
 * import { defaultServerConfig } from "../../config/mod.ts";
 * declare const login: object;
 * const why = await checkScopedToken(defaultServerConfig(), login, "eyJ...");
 * ```
 */
export async function checkScopedToken(
  config: ServerConfig,
  login: object,
  token: unknown,
): Promise<string> {
  try {
    const { identity } = await oidcVerifierOf(config).verify(token);
    const expected = identities.get(login);
    if (identity !== expected) {
      return `the token's ${config.auth.oidc.userClaim || "sub"} [${identity}] ` +
        `is not the one of the login [${expected ?? ""}]`;
    }
    return "";
  } catch (err) {
    if (err instanceof OidcRefusal || err instanceof OidcUnavailable) return err.message;
    throw err;
  }
}
