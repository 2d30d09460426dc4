import { assertEquals } from "./_assert.ts";
import { xorMask } from "../lib/transport/websocket.ts";

Deno.test("websocket masking: word-wise XOR equals the byte-wise definition at any offset and split", () => {
  for (let trial = 0; trial < 2000; trial++) {
    const buf = crypto.getRandomValues(new Uint8Array(300));
    const off = trial % 8;
    const len = (trial * 37) % 280;
    const mask = crypto.getRandomValues(new Uint8Array(4));
    const phase = trial % 4;
    const want = buf.slice();
    for (let i = 0; i < len; i++) want[off + i] ^= mask[(phase + i) & 3];
    const split = (trial * 13) % (len + 1);
    const next = xorMask(buf.subarray(off, off + split), mask, phase);
    assertEquals(xorMask(buf.subarray(off + split, off + len), mask, next), (phase + len) & 3);
    assertEquals(buf, want, `trial ${trial}: offset ${off}, length ${len}, split ${split}`);
  }
});
