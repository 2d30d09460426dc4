/**
 * The slice of `npm:ssh2` the gateway uses, typed here: ssh2 ships no types
 * of its own, and these few signatures are all we rely on. The module is
 * loaded on first use, so a server without the gateway never pays for it.
 *
 * @example
 * ```ts
 * import { loadSsh2 } from "./ssh2.ts";
 * const ssh2 = await loadSsh2();
 * const pair = ssh2.utils.generateKeyPairSync("ed25519");
 * console.log(pair.public.startsWith("ssh-ed25519"));
 * ```
 *
 * @module
 */

import type { NodeStreamLike } from "../../net/node_stream.ts";

/** A parsed key (`utils.parseKey`). */
export interface SshKey {
  /** The key in SSH wire format, as it appears base64-encoded in authorized_keys. */
  getPublicSSH(): Uint8Array;
  verify(data: Uint8Array, signature: Uint8Array, hashAlgo?: string): boolean | Error;
}

/** What a client offers in one authentication attempt. */
export interface AuthContext {
  method: string;
  username: string;
  key?: { algo: string; data: Uint8Array };
  signature?: Uint8Array;
  blob?: Uint8Array;
  hashAlgo?: string;
  accept(): void;
  reject(methods?: string[], partial?: boolean): void;
}

/** An SSH channel: a Node duplex stream plus SSH's EOF and CLOSE. */
export interface SshChannel extends NodeStreamLike {
  /** Sends SSH_MSG_CHANNEL_EOF (half-close) without closing. */
  eof(): void;
  /** Sends SSH_MSG_CHANNEL_CLOSE. */
  close(): void;
  /** Session channels (server side): exit status for the client. */
  exit(status: number): void;
  readonly stderr: { write(chunk: string): unknown };
}

/** One session channel's requests. */
export interface SshSession {
  on(
    event: "exec",
    listener: (accept: () => SshChannel, reject: () => void, info: { command: string }) => void,
  ): unknown;
  on(event: "shell", listener: (accept: () => SshChannel, reject: () => void) => void): unknown;
  on(event: string, listener: (accept?: () => unknown, reject?: () => void) => void): unknown;
}

/** One connected SSH client, on the server. */
export interface SshClientConn {
  on(event: "authentication", listener: (ctx: AuthContext) => void): unknown;
  on(event: "ready" | "end" | "close", listener: () => void): unknown;
  on(event: "error", listener: (err: Error) => void): unknown;
  on(
    event: "request",
    listener: (
      accept: ((port?: number) => void) | undefined,
      reject: (() => void) | undefined,
      name: string,
      info: { bindAddr: string; bindPort: number },
    ) => void,
  ): unknown;
  on(
    event: "session",
    listener: (accept: () => SshSession, reject: () => void) => void,
  ): unknown;
  on(event: "tcpip" | "openssh.streamlocal", listener: (...args: any[]) => void): unknown;
  forwardOut(
    boundAddr: string,
    boundPort: number,
    remoteAddr: string,
    remotePort: number,
    cb: (err: Error | undefined, channel: SshChannel) => void,
  ): unknown;
  end(): unknown;
}

/** The listening SSH server. */
export interface SshServer {
  listen(port: number, host: string, cb?: () => void): unknown;
  address(): { port: number; address: string } | null;
  close(cb?: () => void): unknown;
  on(event: "error", listener: (err: Error) => void): unknown;
  once(event: "error" | "listening", listener: (...args: any[]) => void): unknown;
}

/** The module, with the signatures above. */
export interface Ssh2 {
  Server: new (
    config: { hostKeys: string[]; ident?: string },
    onConnection: (client: SshClientConn, info: { ip: string; port: number }) => void,
  ) => SshServer;
  utils: {
    parseKey(data: string | Uint8Array): SshKey | Error | Array<SshKey>;
    generateKeyPairSync(type: "ed25519" | "rsa", opts?: { bits?: number }): {
      private: string;
      public: string;
    };
  };
}

let loaded: Promise<Ssh2> | undefined;

/** `npm:ssh2`, typed; loaded once. */
export function loadSsh2(): Promise<Ssh2> {
  loaded ??= import("ssh2").then((m) => (m.default ?? m) as unknown as Ssh2);
  return loaded;
}
