import { assert, assertEquals } from "./_assert.ts";
import {
  HttpError,
  keepsAlive,
  latin1,
  parseRequestHead,
  parseResponseHead,
  requestFraming,
  responseFraming,
  serializeRequestHead,
  serializeResponseHead,
} from "../lib/server/vhost/http_parser.ts";

const bytes = (text: string) => new Uint8Array([...text].map((c) => c.charCodeAt(0)));

function refused(head: string, status: number): string {
  try {
    parseRequestHead(bytes(head));
  } catch (err) {
    assert(err instanceof HttpError, `not an HttpError: ${err}`);
    assertEquals(err.status, status);
    return err.message;
  }
  throw new Error(`accepted: ${JSON.stringify(head)}`);
}

Deno.test("http parser: a request head parses and serialises back unchanged", () => {
  const text = "POST /a/b?q=1 HTTP/1.1\r\nHost: x.example.com\r\nX-Empty:\r\n" +
    "Content-Length: 5\r\nX-Spaced:   v  w \t\r\n\r\n";
  const head = parseRequestHead(bytes(text));
  assertEquals(head.method, "POST");
  assertEquals(head.target, "/a/b?q=1");
  assertEquals(head.version, "HTTP/1.1");
  assertEquals(head.headers, [
    ["Host", "x.example.com"],
    ["X-Empty", ""],
    ["Content-Length", "5"],
    ["X-Spaced", "v  w"],
  ]);
  assertEquals(requestFraming(head), { kind: "length", length: 5 });
  const out = serializeRequestHead(head, new Uint8Array(4096));
  assertEquals(
    latin1(out),
    "POST /a/b?q=1 HTTP/1.1\r\nHost: x.example.com\r\nX-Empty: \r\nContent-Length: 5\r\n" +
      "X-Spaced: v  w\r\n\r\n",
  );
});

Deno.test("http parser: bare LF line ends and bytes above 0x7f pass through byte for byte", () => {
  const text = "GET / HTTP/1.0\nHost: a\nX-Latin: caf\xe9 \xff\xfd\n\n";
  const head = parseRequestHead(bytes(text));
  assertEquals(head.headers[1], ["X-Latin", "caf\xe9 \xff\xfd"]);
  // Too small a scratch buffer, and non-ASCII text: both fall back to a fresh array.
  for (const scratch of [undefined, new Uint8Array(8), new Uint8Array(4096)]) {
    const out = serializeRequestHead(head, scratch);
    assertEquals([...out], [
      ...bytes("GET / HTTP/1.0\r\nHost: a\r\nX-Latin: caf\xe9 \xff\xfd\r\n\r\n"),
    ]);
  }
  // A literal U+FFFD in UTF-8 (EF BF BD) is three bytes, three chars.
  assertEquals(latin1(new Uint8Array([0xef, 0xbf, 0xbd, 0x41])), "\xef\xbf\xbdA");
});

Deno.test("http parser: malformed request heads are refused with 400", () => {
  refused("GET /  HTTP/1.1\r\n\r\n", 400);
  refused("GET / HTTP/1.1 extra\r\n\r\n", 400);
  refused("GET\r\n\r\n", 400);
  refused("G(T / HTTP/1.1\r\n\r\n", 400);
  refused(" GET / HTTP/1.1\r\n\r\n", 400);
  refused("GET / HTTP/2.0\r\n\r\n", 400);
  refused("GET / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n", 400);
  refused("GET / HTTP/1.1\r\nBad Name: a\r\n\r\n", 400);
  refused("GET / HTTP/1.1\r\n: no name\r\n\r\n", 400);
  refused("GET / HTTP/1.1\r\nNoColon\r\n\r\n", 400);
  refused("GET / HTTP/1.1\r\nX-\xe9: a\r\n\r\n", 400);
  assertEquals(
    refused("GET / HTTP/1.1\r\nX-A: a\rb\r\n\r\n", 400),
    "stray CR or NUL in the message head",
  );
  refused("GET / HTTP/1.1\r\nX-A: a\0b\r\n\r\n", 400);
  refused("GET /\0 HTTP/1.1\r\n\r\n", 400);
});

Deno.test("http parser: request framing from Content-Length and Transfer-Encoding", () => {
  const framing = (headers: string) =>
    requestFraming(parseRequestHead(bytes(`POST / HTTP/1.1\r\n${headers}\r\n`)));
  assertEquals(framing(""), { kind: "none" });
  assertEquals(framing("Content-Length: 0\r\n"), { kind: "none" });
  assertEquals(framing("Content-Length: 7, 7\r\n"), { kind: "length", length: 7 });
  assertEquals(framing("Transfer-Encoding: gzip, chunked\r\n"), { kind: "chunked" });
  for (
    const bad of [
      "Content-Length: 7, 8\r\n",
      "Content-Length: -1\r\n",
      "Content-Length: 1e3\r\n",
      "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n",
      "Transfer-Encoding: chunked, gzip\r\n",
    ]
  ) {
    let status = 0;
    try {
      framing(bad);
    } catch (err) {
      status = (err as HttpError).status;
    }
    assertEquals(status, 400, bad);
  }
});

Deno.test("http parser: response heads and their framing", () => {
  const resp = parseResponseHead(
    bytes("HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 92\r\n\r\n"),
  );
  assertEquals([resp.status, resp.reason], [200, "OK"]);
  assertEquals(responseFraming(resp, "GET"), { kind: "length", length: 92 });
  assertEquals(responseFraming(resp, "HEAD"), { kind: "none" });
  const noReason = parseResponseHead(bytes("HTTP/1.0 204\r\n\r\n"));
  assertEquals([noReason.status, noReason.reason], [204, ""]);
  assertEquals(
    responseFraming(parseResponseHead(bytes("HTTP/1.1 200 OK\r\n\r\n")), "GET"),
    { kind: "close" },
  );
  const scratch = new Uint8Array(4096);
  assertEquals(
    latin1(serializeResponseHead(resp, scratch)),
    "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 92\r\n\r\n",
  );
  let status = 0;
  try {
    parseResponseHead(bytes("HTTP/1.1 2000 OK\r\n\r\n"));
  } catch (err) {
    status = (err as HttpError).status;
  }
  assertEquals(status, 502);
});

Deno.test("http parser: a response head read for its framing only is checked the same way", () => {
  const heads = [
    "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nCONTENT-LENGTH: 92\r\n\r\n",
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\nConnection: close\r\n\r\n",
    "HTTP/1.0 200 OK\r\nconnection: keep-alive\r\nContent-Length: 5, 5\r\n\r\n",
    "HTTP/1.1 304 Not Modified\nETag: x\n\n",
    "HTTP/1.1 200 OK\r\nX-Long-Name-Here: a\r\nContent-Lengthy: 3\r\n\r\n",
  ];
  for (const text of heads) {
    const full = parseResponseHead(bytes(text));
    const lean = parseResponseHead(bytes(text), true);
    assertEquals([lean.version, lean.status, lean.reason], [
      full.version,
      full.status,
      full.reason,
    ]);
    assertEquals(responseFraming(lean, "GET"), responseFraming(full, "GET"), text);
    assertEquals(keepsAlive(lean.version, lean.headers), keepsAlive(full.version, full.headers));
    assert(lean.headers.length < full.headers.length || full.headers.length <= 2, text);
  }
  const malformed = [
    "HTTP/1.1 200 OK\r\nX-A: a\rb\r\n\r\n",
    "HTTP/1.1 200 OK\r\nX-A: a\0b\r\n\r\n",
    "HTTP/1.1 200 OK\r\nBad Name: a\r\n\r\n",
    "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n folded\r\n\r\n",
    "HTTP/1.1 200 OK\r\nNoColon\r\n\r\n",
    "HTTP/1.1 200 OK\r\nX-\xe9: a\r\n\r\n",
    "HTTP/1.1 20 OK\r\n\r\n",
    "HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\n",
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
  ];
  for (const text of malformed) {
    for (const framingOnly of [false, true]) {
      let status = 0;
      try {
        responseFraming(parseResponseHead(bytes(text), framingOnly), "GET");
      } catch (err) {
        status = (err as HttpError).status;
      }
      assertEquals(status, 502, `${JSON.stringify(text)} framingOnly=${framingOnly}`);
    }
  }
});

Deno.test("http parser: heads serialise the same into a scratch buffer, short or long, any byte", () => {
  const long = "x".repeat(300);
  for (
    const text of [
      "GET / HTTP/1.1\r\nHost: a\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: a\r\nX-Latin: caf\xe9 \xff\r\n\r\n",
      `GET /${long} HTTP/1.1\r\nHost: a\r\nX-Long: ${long}\r\n\r\n`,
      `GET / HTTP/1.1\r\nHost: a\r\nX-Latin: caf\xe9 ${long}\r\n\r\n`,
    ]
  ) {
    const head = parseRequestHead(bytes(text));
    const plain = serializeRequestHead(head);
    for (const size of [4096, 64, 30]) {
      assertEquals(serializeRequestHead(head, new Uint8Array(size)), plain, `${text} in ${size}`);
    }
    assertEquals(latin1(plain), text);
  }
});
