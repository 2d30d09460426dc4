/**
 * A Linux TUN device through libc, for frp's VirtualNet: IP packets in and
 * out of the kernel's network stack. Deno has no TUN API, so this opens
 * `/dev/net/tun` and names the device with one `ioctl(TUNSETIFF)` through
 * `Deno.dlopen` (needs `--allow-ffi`). The descriptor is non-blocking: reads
 * and writes are plain synchronous libc calls that return at once, and when
 * nothing is there the reader waits in `poll(2)` marked `nonblocking` (Deno
 * runs it on a worker thread and resolves a promise), with a timeout so that
 * `close()` is noticed: a thread blocked in `read` would not wake up when the
 * descriptor is closed under it. The address and the link state are
 * set with iproute2's `ip` (needs `--allow-run=ip`), as an administrator
 * would.
 *
 * @example
 * ```ts
 * import { openTun } from "./tun.ts";
 * const tun = await openTun("100.86.0.1/24");
 * const packet = new Uint8Array(65536);
 * const n = await tun.read(packet);
 * console.log(`${tun.name}: a ${n}-byte packet`);
 * tun.close();
 * ```
 *
 * @module
 */

const TUNSETIFF = 0x400454can;
const IFF_TUN = 0x0001;
const IFF_NO_PI = 0x1000;
const O_RDWR = 2;
const O_NONBLOCK = 0o4000;
const POLLIN = 1;
/** How long one wait for a packet lasts before the reader looks whether it was closed. */
const POLL_MS = 250;
const O_CLOEXEC = 0o2000000;
const IFNAMSIZ = 16;

const LIBC_SYMBOLS = {
  open: { parameters: ["buffer", "i32"], result: "i32" },
  ioctl: { parameters: ["i32", "u64", "buffer"], result: "i32" },
  read: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  write: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  poll: { parameters: ["buffer", "u64", "i32"], result: "i32", nonblocking: true },
  close: { parameters: ["i32"], result: "i32" },
} as const;

type Libc = Deno.DynamicLibrary<typeof LIBC_SYMBOLS>;
let libc: Libc | undefined;

function loadLibc(): Libc {
  if (libc) return libc;
  try {
    libc = Deno.dlopen("libc.so.6", LIBC_SYMBOLS);
  } catch (err) {
    if (err instanceof Deno.errors.NotCapable || err instanceof Deno.errors.PermissionDenied) {
      throw new Error("virtualNet needs --allow-ffi (a TUN device is opened through libc)");
    }
    throw new Error(`virtualNet: cannot load libc: ${(err as Error).message}`);
  }
  return libc;
}

async function ip(args: string[]): Promise<void> {
  let out: Deno.CommandOutput;
  try {
    out = await new Deno.Command("ip", { args, stdout: "null", stderr: "piped" }).output();
  } catch (err) {
    if (err instanceof Deno.errors.NotCapable || err instanceof Deno.errors.PermissionDenied) {
      throw new Error("virtualNet needs --allow-run=ip (iproute2 sets the device's address)");
    }
    throw new Error(`virtualNet: cannot run ip (install iproute2): ${(err as Error).message}`);
  }
  if (!out.success) {
    throw new Error(`ip ${args.join(" ")}: ${new TextDecoder().decode(out.stderr).trim()}`);
  }
}

/** An open TUN device with its address set and its link up. */
export interface TunDevice {
  /** The name the kernel gave it (`dfrp0`, `dfrp1`, ...). */
  readonly name: string;
  /** Reads one IP packet into `p`; resolves to its length, or `null` once closed. */
  read(p: Uint8Array): Promise<number | null>;
  /** Writes one IP packet (dropped when the device's queue is full, as IP allows). */
  write(packet: Uint8Array<ArrayBuffer>): Promise<void>;
  /** Closes the device; the kernel removes it and its routes. */
  close(): void;
}

/**
 * Opens a TUN device named `dfrp<N>`, gives it `address` (CIDR, e.g.
 * `100.86.0.1/24`: the kernel then routes the whole prefix into it) and
 * brings it up. Needs root (or CAP_NET_ADMIN), `--allow-ffi` and
 * `--allow-run=ip`; each missing piece fails with an error that names it.
 *
 * @example
 * ```ts
 * import { openTun } from "./tun.ts";
 * const tun = await openTun("100.86.0.2/24");
 * tun.close();
 * ```
 */
export async function openTun(address: string): Promise<TunDevice> {
  const lib = loadLibc().symbols;
  const fd = lib.open(
    new TextEncoder().encode("/dev/net/tun\0"),
    O_RDWR | O_NONBLOCK | O_CLOEXEC,
  );
  if (fd < 0) {
    throw new Error("virtualNet: cannot open /dev/net/tun (needs root or CAP_NET_ADMIN)");
  }
  // struct ifreq: the name pattern (the kernel fills in %d), then the flags.
  const ifreq = new Uint8Array(40);
  ifreq.set(new TextEncoder().encode("dfrp%d"));
  new DataView(ifreq.buffer).setUint16(IFNAMSIZ, IFF_TUN | IFF_NO_PI, true);
  if (lib.ioctl(fd, TUNSETIFF, ifreq) < 0) {
    lib.close(fd);
    throw new Error("virtualNet: TUNSETIFF failed (needs root or CAP_NET_ADMIN)");
  }
  const end = ifreq.indexOf(0);
  const name = new TextDecoder().decode(ifreq.subarray(0, end < 0 ? IFNAMSIZ : end));
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    lib.close(fd);
  };
  try {
    await ip(["addr", "add", address, "dev", name]);
    await ip(["link", "set", name, "up"]);
  } catch (err) {
    close();
    throw err;
  }
  // struct pollfd { int fd; short events; short revents; }
  const pollfd = new Uint8Array(8);
  const pollView = new DataView(pollfd.buffer);
  pollView.setInt32(0, fd, true);
  pollView.setInt16(4, POLLIN, true);
  return {
    name,
    async read(p) {
      const buf = p as Uint8Array<ArrayBuffer>;
      while (!closed) {
        const n = Number(lib.read(fd, buf, BigInt(buf.length)));
        if (n >= 0) return n;
        // EAGAIN: nothing queued. Wait until something is, or a while.
        await lib.poll(pollfd, 1n, POLL_MS);
      }
      return null;
    },
    write(packet) {
      // A full device queue drops the packet, as a router would.
      if (!closed) lib.write(fd, packet, BigInt(packet.length));
      return Promise.resolve();
    },
    close,
  };
}
