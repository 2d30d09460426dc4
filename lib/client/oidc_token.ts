/**
 * `auth.method = "oidc"` on the client: the access token sent with the
 * login (and, with `auth.additionalScopes`, with heartbeats and pooled work
 * connections). It comes from the OAuth 2.0 client-credentials grant at
 * `auth.oidc.tokenEndpointURL` (`clientID` / `clientSecret`, `audience`,
 * `scope`, `additionalEndpointParams`, frp's names), cached until shortly
 * before it expires; or, with `auth.oidc.tokenSource` (type `file`), read
 * from that file on every use, so another program can keep it fresh.
 *
 * @example
 * ```ts
 * import { oidcTokenSourceOf } from "./oidc_token.ts";
 * import { defaultClientConfig } from "../config/mod.ts";
 * const cfg = defaultClientConfig();
 * cfg.auth.method = "oidc";
 * cfg.auth.oidc.tokenEndpointURL = "https://issuer.example/token";
 * const token = await oidcTokenSourceOf(cfg).token();
 * ```
 *
 * @module
 */

import type { ClientConfig } from "../config/mod.ts";

/** Getting a token failed (the endpoint refused, or could not be reached). */
export class OidcTokenError extends Error {
  override name = "OidcTokenError";
}

/** The client's `auth.oidc.*` settings. */
export type OidcClientOptions = ClientConfig["auth"]["oidc"];

/** How long one token request may take. */
const FETCH_TIMEOUT_MS = 10_000;
/** A cached token is renewed this long before it expires (as Go's oauth2 does). */
const EXPIRY_MARGIN_MS = 10_000;

/** See the module doc. */
export class OidcTokenSource {
  #cached: { token: string; renewAt: number } | null = null;
  #pending: Promise<string> | null = null;
  #client: Deno.HttpClient | undefined;

  /** @param options `auth.oidc` of the client config */
  constructor(readonly options: OidcClientOptions) {}

  /** A valid access token: the cached one, or a fresh one. */
  token(): Promise<string> {
    if (this.options.tokenSource?.type) return this.#fromFile();
    if (this.#cached && Date.now() < this.#cached.renewAt) {
      return Promise.resolve(this.#cached.token);
    }
    if (!this.#pending) {
      this.#pending = this.#request().finally(() => this.#pending = null);
    }
    return this.#pending;
  }

  async #fromFile(): Promise<string> {
    const source = this.options.tokenSource;
    if (source.type !== "file") {
      throw new OidcTokenError(
        `auth.oidc.tokenSource type "${source.type}" is not supported (only "file")`,
      );
    }
    try {
      return (await Deno.readTextFile(source.file.path)).trim();
    } catch (err) {
      throw new OidcTokenError(
        `cannot read auth.oidc.tokenSource file ${source.file.path}: ${(err as Error).message}`,
      );
    }
  }

  async #httpClient(): Promise<Deno.HttpClient | undefined> {
    const { trustedCaFile, proxyURL } = this.options;
    if (this.#client || (!trustedCaFile && !proxyURL)) return this.#client;
    const caCerts = trustedCaFile ? [await Deno.readTextFile(trustedCaFile)] : undefined;
    this.#client = Deno.createHttpClient({
      caCerts,
      proxy: proxyURL ? { url: proxyURL } : undefined,
    });
    return this.#client;
  }

  /** One client-credentials request; client authentication as HTTP Basic, else in the form. */
  async #request(): Promise<string> {
    const { options } = this;
    const url = options.tokenEndpointURL;
    const form = new URLSearchParams({ grant_type: "client_credentials" });
    if (options.scope) form.set("scope", options.scope.split(/[\s,]+/).join(" "));
    if (options.audience) form.set("audience", options.audience);
    for (const [k, v] of Object.entries(options.additionalEndpointParams ?? {})) form.set(k, v);
    const client = await this.#httpClient();
    const post = (body: URLSearchParams, headers: Record<string, string>) =>
      fetch(url, {
        method: "POST",
        headers: {
          "content-type": "application/x-www-form-urlencoded",
          accept: "application/json",
          ...headers,
        },
        body,
        client,
        signal: AbortSignal.timeout(FETCH_TIMEOUT_MS),
      });
    const started = Date.now();
    let resp: Response;
    try {
      const basic = `${encodeURIComponent(options.clientID)}:${
        encodeURIComponent(options.clientSecret)
      }`;
      resp = await post(form, { authorization: `Basic ${btoa(basic)}` });
      if (resp.status === 400 || resp.status === 401) {
        // Some endpoints take the client's credentials in the form only (Go oauth2's auto-detect).
        const first = await resp.text();
        if (/invalid_client|unauthorized/i.test(first)) {
          const inForm = new URLSearchParams(form);
          inForm.set("client_id", options.clientID);
          inForm.set("client_secret", options.clientSecret);
          resp = await post(inForm, {});
        } else {
          resp = new Response(first, { status: resp.status });
        }
      }
    } catch (err) {
      throw new OidcTokenError(`OIDC token endpoint ${url}: ${(err as Error).message}`);
    }
    const text = await resp.text();
    let body: { access_token?: unknown; expires_in?: unknown; error?: unknown } = {};
    try {
      body = JSON.parse(text);
    } catch { /* reported below */ }
    if (!resp.ok || typeof body.access_token !== "string" || body.access_token === "") {
      const why = body.error
        ? `${body.error}${
          (body as { error_description?: string }).error_description
            ? `: ${(body as { error_description?: string }).error_description}`
            : ""
        }`
        : text.slice(0, 200);
      throw new OidcTokenError(`OIDC token endpoint ${url} answered ${resp.status}: ${why}`);
    }
    const lifetimeMs = Number(body.expires_in) * 1000;
    const margin = Math.min(EXPIRY_MARGIN_MS, lifetimeMs / 2);
    this.#cached = {
      token: body.access_token,
      // No expires_in: the token is used once and asked for again next time.
      renewAt: lifetimeMs > 0 ? started + lifetimeMs - margin : 0,
    };
    return body.access_token;
  }
}

const sources = new WeakMap<object, OidcTokenSource>();

/**
 * The token source of `cfg` (one per loaded config, so its cache lives as
 * long as the client runs with that config).
 *
 * @example
 * ```ts
 * import { oidcTokenSourceOf } from "./oidc_token.ts";
 * import { defaultClientConfig } from "../config/mod.ts";
 * const source = oidcTokenSourceOf(defaultClientConfig());
 * ```
 */
export function oidcTokenSourceOf(cfg: ClientConfig): OidcTokenSource {
  let source = sources.get(cfg.auth);
  if (!source) sources.set(cfg.auth, source = new OidcTokenSource(cfg.auth.oidc));
  return source;
}

/**
 * The fields to add to a message: `{ accessToken }` when OIDC is on and
 * (for `scope`) `auth.additionalScopes` lists it, else nothing.
 *
 * @example
 * ```ts
 * import { oidcFields } from "./oidc_token.ts";
 * import { defaultClientConfig } from "../config/mod.ts";
 * await oidcFields(defaultClientConfig(), "HeartBeats"); // {} (token auth)
 * ```
 */
export async function oidcFields(
  cfg: ClientConfig,
  scope?: "HeartBeats" | "NewWorkConns",
): Promise<{ accessToken?: string }> {
  if (cfg.auth.method !== "oidc") return {};
  if (scope && !cfg.auth.additionalScopes.includes(scope)) return {};
  return { accessToken: await oidcTokenSourceOf(cfg).token() };
}
