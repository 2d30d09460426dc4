/**
 * `transport.useEncryption`: a {@linkcode Duplex} whose bytes cross the wire
 * as AES-256-GCM records.
 *
 * Wire format, each side independently:
 *
 *     hello:  version u8 (1) | salt: 16 random bytes
 *     record: header u32BE (bit 31: final, bits 0-30: ciphertext length) | ciphertext + 16-byte tag
 *
 * The key a side sends with is `HKDF-SHA256(ikm = "dfrp-enc\n" + secret,
 * salt = ownSalt || peerSalt, info = "dfrp record key")`; the peer derives
 * the same key with the salts swapped into the same order. Both salts are
 * fresh per connection, so every connection and direction has its own key,
 * and the nonce (4 zero bytes, then a 64-bit record counter) never repeats
 * under one key. The counter also authenticates record order: a dropped,
 * repeated or reordered record fails its tag. The header is the additional
 * data, and `closeWrite` sends an empty final record, so a truncated stream
 * is told apart from a finished one. A peer that echoes our own salt back
 * (a reflection) is refused.
 *
 * @example
 * ```ts
 * import { EncryptedConn } from "./encrypted_conn.ts";
 * const raw = await Deno.connect({ port: 7000 });
 * const conn = new EncryptedConn(raw, "shared token");
 * await conn.write(new TextEncoder().encode("hello"));
 * ```
 *
 * @module
 */

import { type Duplex, writeAll } from "./duplex.ts";

/** Largest plaintext in one record. */
export const MAX_RECORD_PLAINTEXT = 64 * 1024;
const TAG = 16;
const HEADER = 4;
const HELLO = 17;
const VERSION = 1;
const FINAL = 0x8000_0000;
const encoder = new TextEncoder();

/** Why an encrypted stream was given up; the message names the cause. */
export class EncryptionError extends Error {
  override name = "EncryptionError";
}

async function deriveKey(
  secret: string,
  first: Uint8Array,
  second: Uint8Array,
  usage: KeyUsage,
): Promise<CryptoKey> {
  const ikm = await crypto.subtle.importKey(
    "raw",
    encoder.encode("dfrp-enc\n" + secret),
    "HKDF",
    false,
    ["deriveKey"],
  );
  const salt = new Uint8Array(first.length + second.length);
  salt.set(first);
  salt.set(second, first.length);
  return await crypto.subtle.deriveKey(
    { name: "HKDF", hash: "SHA-256", salt, info: encoder.encode("dfrp record key") },
    ikm,
    { name: "AES-GCM", length: 256 },
    false,
    [usage],
  );
}

function nonceOf(counter: bigint, out: Uint8Array<ArrayBuffer>): Uint8Array<ArrayBuffer> {
  new DataView(out.buffer).setBigUint64(4, counter);
  return out;
}

/** See the module doc. */
export class EncryptedConn implements Duplex {
  #ready: Promise<void>;
  #sendKey?: CryptoKey;
  #recvKey?: CryptoKey;
  #sendCounter = 0n;
  #recvCounter = 0n;
  #sendNonce = new Uint8Array(12);
  #recvNonce = new Uint8Array(12);
  // Received bytes not parsed yet; reused, compacted when it fills.
  #rbuf = new Uint8Array(HEADER + MAX_RECORD_PLAINTEXT + TAG + HELLO);
  #rstart = 0;
  #rend = 0;
  #plain: Uint8Array = new Uint8Array(0);
  #ended = false;
  #wbuf = new Uint8Array(HEADER + MAX_RECORD_PLAINTEXT + TAG);
  #writing: Promise<unknown> = Promise.resolve();
  #failed?: Error;

  /**
   * @param inner the raw stream (a work connection)
   * @param secret the shared secret: the token, or a visitor's `secretKey`
   * @param onError told once why the stream was given up (bad tag, truncation...)
   */
  constructor(
    readonly inner: Duplex,
    secret: string,
    readonly onError?: (reason: string) => void,
  ) {
    this.#ready = this.#handshake(secret);
    // Surfaced by the first read or write; keep it from being unhandled.
    this.#ready.catch(() => {});
  }

  async #handshake(secret: string): Promise<void> {
    const hello = new Uint8Array(HELLO);
    hello[0] = VERSION;
    const salt = hello.subarray(1);
    crypto.getRandomValues(salt);
    await writeAll(this.inner, hello);
    if (!await this.#fill(HELLO)) {
      throw this.#fail("stream ended before the peer's encryption hello");
    }
    const peer = this.#rbuf.slice(this.#rstart + 1, this.#rstart + HELLO);
    if (this.#rbuf[this.#rstart] !== VERSION) {
      throw this.#fail(
        "the peer does not speak dfrp encryption v1 (is useEncryption on at both ends?)",
      );
    }
    this.#rstart += HELLO;
    if (peer.every((b, i) => b === salt[i])) throw this.#fail("the peer reflected our salt");
    [this.#sendKey, this.#recvKey] = await Promise.all([
      deriveKey(secret, salt, peer, "encrypt"),
      deriveKey(secret, peer, salt, "decrypt"),
    ]);
  }

  #fail(reason: string): Error {
    if (!this.#failed) {
      this.#failed = new EncryptionError(`encrypted connection dropped: ${reason}`);
      this.onError?.(this.#failed.message);
      this.inner.close();
    }
    return this.#failed;
  }

  /** Reads until `n` unparsed bytes are buffered; false at end of stream. */
  async #fill(n: number): Promise<boolean> {
    if (this.#rend - this.#rstart >= n) return true;
    if (this.#rstart > 0) {
      this.#rbuf.copyWithin(0, this.#rstart, this.#rend);
      this.#rend -= this.#rstart;
      this.#rstart = 0;
    }
    while (this.#rend < n) {
      const got = await this.inner.read(this.#rbuf.subarray(this.#rend));
      if (got === null) return false;
      this.#rend += got;
    }
    return true;
  }

  /** Reads plaintext; null after the peer's final record. */
  async read(p: Uint8Array): Promise<number | null> {
    if (this.#plain.length === 0) {
      if (this.#ended) return null;
      if (this.#failed) throw this.#failed;
      await this.#ready;
      while (this.#plain.length === 0) {
        if (!await this.#readRecord()) return null;
      }
    }
    const n = Math.min(p.length, this.#plain.length);
    p.set(this.#plain.subarray(0, n));
    this.#plain = this.#plain.subarray(n);
    return n;
  }

  /** Decrypts the next record into `#plain`; false when it was the final one. */
  async #readRecord(): Promise<boolean> {
    let ok: boolean;
    try {
      ok = await this.#fill(HEADER);
    } catch (err) {
      throw this.#failed ?? err;
    }
    if (!ok) {
      if (this.#rend === this.#rstart) throw this.#fail("stream truncated (no final record)");
      throw this.#fail("stream ended inside a record header");
    }
    const header = this.#rbuf.slice(this.#rstart, this.#rstart + HEADER);
    const word = new DataView(header.buffer).getUint32(0);
    const length = word & 0x7fff_ffff;
    if (length < TAG || length > MAX_RECORD_PLAINTEXT + TAG) {
      throw this.#fail(`record ${this.#recvCounter} has a bad length ${length}`);
    }
    if (!await this.#fill(HEADER + length).catch((err) => Promise.reject(this.#failed ?? err))) {
      throw this.#fail(`stream ended inside record ${this.#recvCounter}`);
    }
    const body = this.#rbuf.subarray(this.#rstart + HEADER, this.#rstart + HEADER + length);
    const counter = this.#recvCounter++;
    try {
      const plain = await crypto.subtle.decrypt(
        { name: "AES-GCM", iv: nonceOf(counter, this.#recvNonce), additionalData: header },
        this.#recvKey!,
        body,
      );
      this.#plain = new Uint8Array(plain);
    } catch {
      throw this.#fail(
        `record ${counter} failed authentication (tampered, reordered or wrong key)`,
      );
    }
    this.#rstart += HEADER + length;
    if (word & FINAL) {
      this.#ended = true;
      return this.#plain.length > 0;
    }
    return true;
  }

  /** Encrypts up to {@linkcode MAX_RECORD_PLAINTEXT} bytes of `p` as one record. */
  write(p: Uint8Array): Promise<number> {
    const n = Math.min(p.length, MAX_RECORD_PLAINTEXT);
    return this.#serial(() => this.#send(p.subarray(0, n), false).then(() => n));
  }

  // Records must leave in counter order, so writes take turns.
  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#writing.then(fn);
    this.#writing = run.catch(() => {});
    return run;
  }

  async #send(plain: Uint8Array, final: boolean): Promise<void> {
    await this.#ready;
    if (this.#failed) throw this.#failed;
    const length = plain.length + TAG;
    const view = new DataView(this.#wbuf.buffer);
    view.setUint32(0, length | (final ? FINAL : 0));
    const header = this.#wbuf.slice(0, HEADER);
    const sealed = await crypto.subtle.encrypt(
      {
        name: "AES-GCM",
        iv: nonceOf(this.#sendCounter++, this.#sendNonce),
        additionalData: header,
      },
      this.#sendKey!,
      plain as Uint8Array<ArrayBuffer>,
    );
    this.#wbuf.set(new Uint8Array(sealed), HEADER);
    await writeAll(this.inner, this.#wbuf.subarray(0, HEADER + length));
  }

  /** Sends the final record, then ends the inner stream's writing half. */
  closeWrite(): Promise<void> {
    return this.#serial(async () => {
      await this.#send(new Uint8Array(0), true);
      await this.inner.closeWrite();
    });
  }

  /** Closes the inner stream. */
  close(): void {
    this.inner.close();
  }

  /** The inner stream's: aborts when it breaks (see `Duplex.signal`). */
  get signal(): AbortSignal | undefined {
    return this.inner.signal;
  }

  /** Resets the inner stream (closes it if it cannot reset), then closes. */
  reset(): void {
    this.inner.reset?.();
    this.close();
  }
}
