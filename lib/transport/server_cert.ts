/**
 * Fetches the certificate chain a TLS server presents, without verifying it
 * and without sending any application byte, so the client can pin it for
 * Deno's own (verifying) TLS implementation.
 *
 * @example
 * ```ts
 * import { serverCertificateChain } from "./server_cert.ts";
 * const pems = await serverCertificateChain("127.0.0.1", 7000, "127.0.0.1");
 * ```
 *
 * @module
 */

import { Buffer } from "node:buffer";
import tls from "node:tls";

/** How long the probe may take. */
const PROBE_TIMEOUT_MS = 10_000;

function toPem(der: Uint8Array): string {
  const b64 = Buffer.from(der).toString("base64").replace(/(.{64})/g, "$1\n").trimEnd();
  return `-----BEGIN CERTIFICATE-----\n${b64}\n-----END CERTIFICATE-----\n`;
}

/**
 * The PEM certificates the server at `host:port` presents (leaf first), as
 * seen in one TLS handshake that is closed right after.
 */
export function serverCertificateChain(
  host: string,
  port: number,
  serverName: string,
): Promise<string[]> {
  const isIp = /^[\d.]+$|:/.test(serverName);
  return new Promise((resolve, reject) => {
    const socket = tls.connect({
      host,
      port,
      rejectUnauthorized: false,
      ...(isIp || serverName === "" ? {} : { servername: serverName }),
    });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`TLS probe of ${host}:${port} timed out`));
    }, PROBE_TIMEOUT_MS);
    socket.once("secureConnect", () => {
      clearTimeout(timer);
      const chain: string[] = [];
      let cert: tls.DetailedPeerCertificate | undefined = socket.getPeerCertificate(true);
      for (let depth = 0; cert?.raw && depth < 8; depth++) {
        chain.push(toPem(cert.raw));
        const up: tls.DetailedPeerCertificate | undefined = cert.issuerCertificate;
        if (!up?.raw || up === cert || up.raw.equals(cert.raw)) break;
        cert = up;
      }
      socket.end();
      socket.destroy();
      if (chain.length === 0) reject(new Error(`${host}:${port} presented no certificate`));
      else resolve(chain);
    });
    socket.once("error", (err: Error) => {
      clearTimeout(timer);
      socket.destroy();
      reject(err);
    });
  });
}
