/**
 * Test certificates made with the openssl CLI: a CA, a server certificate
 * for `localhost` / `127.0.0.1`, a client certificate, and a second CA that
 * signed nothing of ours (for "unknown authority" tests).
 *
 * @example
 * ```ts
 * import { makeCerts } from "./_certs.ts";
 * const certs = await makeCerts();
 * console.log(certs.serverCert, certs.ca);
 * ```
 *
 * @module
 */

/** Paths of the PEM files {@linkcode makeCerts} wrote. */
export interface TestCerts {
  dir: string;
  ca: string;
  otherCa: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  /** A client certificate signed by `otherCa`. */
  strangerCert: string;
  strangerKey: string;
}

async function openssl(cwd: string, args: string[]): Promise<void> {
  const out = await new Deno.Command("openssl", { args, cwd, stdout: "piped", stderr: "piped" })
    .output();
  if (!out.success) {
    throw new Error(`openssl ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
  }
}

async function ca(dir: string, name: string): Promise<void> {
  await openssl(dir, [
    "req",
    "-x509",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:P-256",
    "-nodes",
    "-keyout",
    `${name}.key`,
    "-out",
    `${name}.crt`,
    "-days",
    "2",
    "-subj",
    `/CN=${name}`,
  ]);
}

async function leaf(dir: string, name: string, issuer: string, ext: string): Promise<void> {
  await openssl(dir, [
    "req",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:P-256",
    "-nodes",
    "-keyout",
    `${name}.key`,
    "-out",
    `${name}.csr`,
    "-subj",
    `/CN=${name}`,
  ]);
  await Deno.writeTextFile(`${dir}/${name}.ext`, ext);
  await openssl(dir, [
    "x509",
    "-req",
    "-in",
    `${name}.csr`,
    "-CA",
    `${issuer}.crt`,
    "-CAkey",
    `${issuer}.key`,
    "-CAcreateserial",
    "-out",
    `${name}.crt`,
    "-days",
    "2",
    "-extfile",
    `${name}.ext`,
  ]);
}

/**
 * Writes a fresh set of certificates to a temp directory.
 *
 * @example
 * ```ts
 * import { makeCerts } from "./_certs.ts";
 * const { serverCert, serverKey } = await makeCerts();
 * ```
 */
export async function makeCerts(): Promise<TestCerts> {
  const dir = await Deno.makeTempDir({ prefix: "dfrp-certs-" });
  await ca(dir, "ca");
  await ca(dir, "other-ca");
  const leafExt = "basicConstraints=critical,CA:FALSE\n";
  await leaf(
    dir,
    "server",
    "ca",
    leafExt + "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n",
  );
  await leaf(dir, "client", "ca", leafExt + "extendedKeyUsage=clientAuth\n");
  await leaf(dir, "stranger", "other-ca", leafExt + "extendedKeyUsage=clientAuth\n");
  return {
    dir,
    ca: `${dir}/ca.crt`,
    otherCa: `${dir}/other-ca.crt`,
    serverCert: `${dir}/server.crt`,
    serverKey: `${dir}/server.key`,
    clientCert: `${dir}/client.crt`,
    clientKey: `${dir}/client.key`,
    strangerCert: `${dir}/stranger.crt`,
    strangerKey: `${dir}/stranger.key`,
  };
}

/**
 * A self-signed EC P-256 certificate for `CN=<name>` and its key, in a new temp directory: a
 * server of the test's own that no dfrp CA signed (a TLS relay, a stranger).
 *
 * @example
 * ```ts
 * import { selfSignedCert } from "./_certs.ts";
 * const { cert, key } = await selfSignedCert("relay");
 * console.log(cert, key);
 * ```
 */
export async function selfSignedCert(name: string): Promise<{ cert: string; key: string }> {
  const dir = await Deno.makeTempDir({ prefix: `dfrp-${name}-` });
  await ca(dir, name);
  return { cert: `${dir}/${name}.crt`, key: `${dir}/${name}.key` };
}
