/**
 * Why a sidecar cannot reach its control plane, in words an operator can act on. gRPC says
 * "UNAVAILABLE" with OpenSSL's or the resolver's text inside ("SSL routines:
 * ssl3_get_record:wrong version number", "Failed to connect", "Name resolution failed");
 * this turns the common causes into a reason and a hint naming the flag to change:
 *
 * - TLS to a plaintext port: OpenSSL reads the server's plaintext HTTP/2 frames as a TLS
 *   record of an unknown version (wrong version number / packet length too long).
 * - Plaintext to a TLS port: the server waits for a ClientHello and drops the connection
 *   after the HTTP/2 preface; gRPC only says "Failed to connect". A one-off probe tells:
 *   a TLS server answers the preface with a TLS alert record (content type 21, RFC 8446
 *   section 5.1) or closes without a byte, where a plaintext gRPC server sends its SETTINGS.
 * - The root does not verify the server, nothing listens, the name does not resolve.
 */
import net from 'node:net';

export interface ConnectionDiagnosis {
  /** What is wrong, one line. */
  readonly reason: string;
  /** What to do about it. */
  readonly hint: string;
}

export interface DiagnosisContext {
  /** host:port the sidecar dials. */
  readonly address: string;
  /** Whether it dials with TLS (--ca-root given). */
  readonly tls: boolean;
}

/** What a connection to the address showed (see probePort). */
export type PortKind = 'tls' | 'plaintext' | 'refused' | 'unknown';

const TLS_TO_PLAINTEXT =
  /wrong version number|packet length too long|WRONG_VERSION_NUMBER|http request/i;
const UNVERIFIED =
  /unable to verify|self[- ]signed certificate|certificate verify failed|unable to get (local )?issuer/i;
const DNS =
  /Name resolution failed for target (?:dns:)?([^\s]+)|getaddrinfo (?:ENOTFOUND|EAI_AGAIN) ([^\s]+)/;

function hostOf(address: string): string {
  const colon = address.lastIndexOf(':');
  return colon < 0 ? address : address.slice(0, colon);
}

/** A diagnosis from the error text alone, or undefined when the text says too little. */
export function diagnoseError(
  details: string,
  ctx: DiagnosisContext,
): ConnectionDiagnosis | undefined {
  if (ctx.tls && TLS_TO_PLAINTEXT.test(details)) {
    return {
      reason: `${ctx.address} does not speak TLS: it is the control plane's plaintext port`,
      hint: "--ca-root needs --xds to be the control plane's secure port (15012 by default); or leave out --ca-root and --token-file for plaintext without mTLS",
    };
  }
  if (ctx.tls && UNVERIFIED.test(details)) {
    return {
      reason: `the certificate of ${ctx.address} is not signed by the root in --ca-root`,
      hint: "pass the mesh's root certificate (root-cert.pem in the control plane's --ca-dir) as --ca-root",
    };
  }
  const dns = DNS.exec(details);
  if (dns) {
    const name = hostOf((dns[1] ?? dns[2] ?? ctx.address).replace(/^dns:/, ''));
    return {
      reason: `the name ${name} does not resolve`,
      hint: 'check the host in --xds (a typo, or a DNS name only the cluster can resolve)',
    };
  }
  if (/ECONNREFUSED/.test(details)) {
    return {
      reason: `nothing listens at ${ctx.address}`,
      hint: 'start the control plane, or check the port in --xds (15010 plaintext, 15012 TLS by default)',
    };
  }
  return undefined;
}

/** A diagnosis from a probe of the port, for errors whose text says too little. */
export function diagnosePort(
  kind: PortKind,
  ctx: DiagnosisContext,
): ConnectionDiagnosis | undefined {
  if (kind === 'tls' && !ctx.tls) {
    return {
      reason: `${ctx.address} speaks TLS: it is the control plane's secure port`,
      hint: 'pass --ca-root FILE and --token-file FILE to use it (mTLS), or point --xds at the plaintext port (15010 by default)',
    };
  }
  if (kind === 'refused') return diagnoseError('ECONNREFUSED', ctx);
  return undefined;
}

const H2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
const TLS_ALERT = 21;
const TLS_HANDSHAKE = 22;
const H2_SETTINGS = 4;

/**
 * Connects once and sends the HTTP/2 client preface: a TLS port answers with an alert (or
 * hangs up at once), a plaintext gRPC port with a SETTINGS frame.
 */
export function probePort(address: string, timeoutMs = 2000): Promise<PortKind> {
  const colon = address.lastIndexOf(':');
  const host = address.slice(0, colon).replace(/^\[|\]$/g, '');
  const port = Number(address.slice(colon + 1));
  return new Promise((resolve) => {
    let settled = false;
    const done = (kind: PortKind) => {
      if (settled) return;
      settled = true;
      socket.destroy();
      resolve(kind);
    };
    const socket = net.connect({ host, port });
    // A diagnosis must not keep a stopping process alive.
    socket.unref();
    socket.setTimeout(timeoutMs, () => done('unknown'));
    socket.on('connect', () => socket.write(H2_PREFACE));
    socket.on('data', (d: Buffer) => {
      const first = d[0];
      if (first === TLS_ALERT || first === TLS_HANDSHAKE) done('tls');
      // A frame header: 3 bytes of length, then the type.
      else if (d.length >= 4 && d[3] === H2_SETTINGS) done('plaintext');
      else done('unknown');
    });
    socket.on('end', () => done('tls'));
    socket.on('error', (err: NodeJS.ErrnoException) =>
      done(err.code === 'ECONNREFUSED' ? 'refused' : err.code === 'ECONNRESET' ? 'tls' : 'unknown'),
    );
  });
}

/** The diagnosis of a failed connection: from its text, else from a probe of the port. */
export async function diagnoseConnection(
  details: string,
  ctx: DiagnosisContext,
): Promise<ConnectionDiagnosis | undefined> {
  const fromText = diagnoseError(details, ctx);
  if (
    fromText ||
    ctx.tls ||
    !/Failed to connect|Connection dropped|Protocol error/i.test(details)
  ) {
    return fromText;
  }
  return diagnosePort(await probePort(ctx.address), ctx);
}
