/**
 * curl, the real HTTP client a user points at dfrp, run the same way by every test: silent but
 * for errors, a 30 s cap, and the status code written after the body so a test reads both.
 *
 * @example
 * ```ts
 * import { curl } from "./_curl.ts";
 * const r = await curl("-H", "Host: a.example.com", "http://127.0.0.1:8080/");
 * console.log(r.status, r.body);
 * ```
 *
 * @module
 */

const dec = new TextDecoder();

/** What one curl run gave. */
export interface CurlResult {
  /** The final answer's status; 0 when curl got none. */
  status: number;
  /** The final answer's head (only with {@linkcode curlHead}; "" otherwise). */
  headers: string;
  /** The body of the final answer. */
  body: string;
  /** What curl wrote to stderr (its error, with `-v` its trace). */
  stderr: string;
  /** curl's exit code (0 on success; 7 refused, 28 timed out, 35 TLS failed...). */
  code: number;
}

async function run(
  args: string[],
): Promise<{ code: number; status: number; out: string; stderr: string }> {
  const out = await new Deno.Command("curl", {
    args: ["-s", "-S", "--max-time", "30", "-w", "\n%{http_code}", ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = dec.decode(out.stdout);
  const nl = text.lastIndexOf("\n");
  return {
    code: out.code,
    status: Number(text.slice(nl + 1)),
    out: text.slice(0, nl),
    stderr: dec.decode(out.stderr),
  };
}

/**
 * Runs `curl -s -S --max-time 30 ...args`; the body is what curl printed, without the head.
 *
 * @example
 * ```ts
 * import { curl } from "./_curl.ts";
 * const r = await curl("-u", "bob:pw", "http://127.0.0.1:8080/private");
 * if (r.status !== 200) console.error(r.stderr);
 * ```
 */
export async function curl(...args: string[]): Promise<CurlResult> {
  const r = await run(args);
  return { status: r.status, headers: "", body: r.out, stderr: r.stderr, code: r.code };
}

/**
 * Runs curl with `-i` and splits the final head from the body. Interim heads (100 Continue) and
 * a proxy's answer to CONNECT (`200 Connection established`) before it are skipped.
 *
 * @example
 * ```ts
 * import { curlHead } from "./_curl.ts";
 * const r = await curlHead("-x", "http://127.0.0.1:3128", "http://127.0.0.1:8080/");
 * console.log(r.headers.match(/^content-type: (.*)$/im)?.[1]);
 * ```
 */
export async function curlHead(...args: string[]): Promise<CurlResult> {
  const r = await run(["-i", ...args]);
  let rest = r.out;
  let headers = "";
  while (rest.startsWith("HTTP/")) {
    const end = rest.indexOf("\r\n\r\n");
    if (end < 0) break;
    headers = rest.slice(0, end);
    rest = rest.slice(end + 4);
    const interim = /^HTTP\/\S+ 1\d\d/.test(headers);
    const tunnel = /^HTTP\/\S+ 200 Connection established/i.test(headers) &&
      rest.startsWith("HTTP/");
    if (!interim && !tunnel) break;
  }
  return { status: r.status, headers, body: rest, stderr: r.stderr, code: r.code };
}
