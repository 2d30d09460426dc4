/**
 * `transport.proxyURL`: reaches the server through a corporate proxy, with
 * HTTP `CONNECT` (`http://user:pass@proxy:3128`) or SOCKS5
 * (`socks5://user:pass@proxy:1080`, RFC 1928 / RFC 1929), as frp does.
 *
 * @example
 * ```ts
 * import { dialViaProxy } from "./proxy_url.ts";
 * const conn = await dialViaProxy("http://127.0.0.1:3128", "frp.example.com", 7000, 5000);
 * ```
 *
 * @module
 */

import { readFull, writeAll } from "../net/duplex.ts";
import { PrefixedConn } from "../net/prefixed_conn.ts";
import { dialTcp } from "../net/tcp_conn.ts";
import { dialTcpFrom } from "./local_addr_dial.ts";
import { withTimeout } from "../net/timeout.ts";
import type { TransportConn } from "./transport.ts";

/**
 * Dials `host:port` through the proxy at `proxyURL`; the connection returned
 * carries bytes to the server as if dialed directly.
 *
 * @example
 * ```ts
 * import { dialViaProxy } from "./proxy_url.ts";
 * const conn = await dialViaProxy("socks5://127.0.0.1:1080", "10.0.0.1", 7000, 5000);
 * ```
 */
export async function dialViaProxy(
  proxyURL: string,
  host: string,
  port: number,
  timeoutMs: number,
  localIP = "",
): Promise<TransportConn> {
  let url: URL;
  try {
    url = new URL(proxyURL);
  } catch {
    throw new Error(`transport.proxyURL ${JSON.stringify(proxyURL)} is not a URL`);
  }
  const scheme = url.protocol.replace(/:$/, "");
  if (scheme !== "http" && scheme !== "socks5") {
    throw new Error(`transport.proxyURL scheme ${scheme} is not supported (use http or socks5)`);
  }
  const proxyPort = Number(url.port || (scheme === "http" ? 80 : 1080));
  const proxyHost = url.hostname.replace(/^\[|\]$/g, "");
  // transport.connectServerLocalIP binds the dial to the proxy, as frp's does.
  const conn = localIP
    ? await dialTcpFrom(proxyHost, proxyPort, localIP, timeoutMs)
    : await dialTcp(proxyHost, proxyPort, timeoutMs);
  const user = decodeURIComponent(url.username);
  const pass = decodeURIComponent(url.password);
  try {
    const tunnel = scheme === "http"
      ? httpConnect(conn, host, port, user, pass)
      : socks5Connect(conn, host, port, user, pass);
    return await withTimeout(tunnel, timeoutMs, `connecting through proxy ${url.host}`);
  } catch (err) {
    conn.close();
    throw new Error(`proxy ${url.host}: ${(err as Error).message}`);
  }
}

function hostPort(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

async function httpConnect(
  conn: TransportConn,
  host: string,
  port: number,
  user: string,
  pass: string,
): Promise<TransportConn> {
  const target = hostPort(host, port);
  let req = `CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\n`;
  if (user !== "" || pass !== "") {
    const cred = btoa(String.fromCharCode(...new TextEncoder().encode(`${user}:${pass}`)));
    req += `Proxy-Authorization: Basic ${cred}\r\n`;
  }
  await writeAll(conn, new TextEncoder().encode(req + "\r\n"));
  const buf = new Uint8Array(4096);
  let filled = 0;
  for (;;) {
    const n = await conn.read(buf.subarray(filled));
    if (n === null) throw new Error("closed the connection during CONNECT");
    filled += n;
    const text = new TextDecoder().decode(buf.subarray(0, filled));
    const end = text.indexOf("\r\n\r\n");
    if (end >= 0) {
      const status = text.slice(0, text.indexOf("\r\n"));
      if (!/^HTTP\/1\.[01] 2\d\d/.test(status)) {
        throw new Error(`CONNECT ${target} refused: ${status}`);
      }
      const rest = buf.slice(new TextEncoder().encode(text.slice(0, end + 4)).length, filled);
      return rest.length ? new PrefixedConn(conn, rest) : conn;
    }
    if (filled === buf.length) throw new Error("CONNECT answer too large");
  }
}

const SOCKS_ERRORS = [
  "succeeded",
  "general failure",
  "connection not allowed by ruleset",
  "network unreachable",
  "host unreachable",
  "connection refused",
  "TTL expired",
  "command not supported",
  "address type not supported",
];

async function socks5Connect(
  conn: TransportConn,
  host: string,
  port: number,
  user: string,
  pass: string,
): Promise<TransportConn> {
  const auth = user !== "" || pass !== "";
  await writeAll(conn, new Uint8Array(auth ? [5, 2, 0, 2] : [5, 1, 0]));
  const choice = new Uint8Array(2);
  await readFull(conn, choice);
  if (choice[0] !== 5) throw new Error("not a SOCKS5 proxy");
  if (choice[1] === 2) {
    const u = new TextEncoder().encode(user), p = new TextEncoder().encode(pass);
    await writeAll(conn, new Uint8Array([1, u.length, ...u, p.length, ...p]));
    const status = new Uint8Array(2);
    await readFull(conn, status);
    if (status[1] !== 0) throw new Error("SOCKS5 authentication failed");
  } else if (choice[1] !== 0) {
    throw new Error("SOCKS5 proxy accepts none of our authentication methods");
  }
  const name = new TextEncoder().encode(host);
  await writeAll(conn, new Uint8Array([5, 1, 0, 3, name.length, ...name, port >> 8, port & 0xff]));
  const reply = new Uint8Array(4);
  await readFull(conn, reply);
  if (reply[1] !== 0) {
    throw new Error(
      `SOCKS5 connect to ${hostPort(host, port)} failed: ${
        SOCKS_ERRORS[reply[1]] ?? `code ${reply[1]}`
      }`,
    );
  }
  // Skip the bound address the proxy reports.
  const addrLen = reply[3] === 1 ? 4 : reply[3] === 4 ? 16 : await (async () => {
    const l = new Uint8Array(1);
    await readFull(conn, l);
    return l[0];
  })();
  await readFull(conn, new Uint8Array(addrLen + 2));
  return conn;
}
