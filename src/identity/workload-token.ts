/**
 * Ferry's local workload credential: a token the control plane's operator issues per
 * workload (namespace + service account), signed with HMAC-SHA256 under a key kept in
 * the CA directory (`token-key`, mode 0600), with an expiry.
 *
 *   ferry1.<base64url(JSON {ns, sa, iat, exp})>.<base64url(HMAC-SHA256(key, "ferry1." + payload))>
 *
 * HMAC: RFC 2104. Comparison is constant-time.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { linkSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { CredentialVerifier } from './credential-verifier.js';
import { IdentityError } from './identity-error.js';
import { checkWorkloadName, type WorkloadName } from './spiffe-id.js';

export const TOKEN_KEY_FILE = 'token-key';
const PREFIX = 'ferry1';
const KEY_BYTES = 32;

interface Payload {
  ns: string;
  sa: string;
  iat: number;
  exp: number;
}

/**
 * The token key in `dir`, made (random, 0600) if there is none yet. The new key is
 * written to a temporary file and linked into place, which fails if another process got
 * there first; then that one's key is read, so racing starts agree on one key.
 */
export function loadOrCreateTokenKey(dir: string): Buffer {
  const file = path.join(dir, TOKEN_KEY_FILE);
  try {
    return parseKey(readFileSync(file, 'utf8'), file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, `${randomBytes(KEY_BYTES).toString('base64')}\n`, { mode: 0o600 });
  try {
    linkSync(tmp, file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  } finally {
    unlinkSync(tmp);
  }
  return parseKey(readFileSync(file, 'utf8'), file);
}

/** Reads an existing token key; FERRY_TOKEN_KEY if it is missing or damaged. */
export function readTokenKey(dir: string): Buffer {
  const file = path.join(dir, TOKEN_KEY_FILE);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new IdentityError(
      'FERRY_TOKEN_KEY',
      (err as NodeJS.ErrnoException).code === 'ENOENT'
        ? `${file} does not exist: start the control plane with --ca-dir ${dir} first (it makes the key)`
        : `cannot read the token key ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    );
  }
  return parseKey(text, file);
}

function parseKey(text: string, file: string): Buffer {
  const key = Buffer.from(text.trim(), 'base64');
  if (key.length < KEY_BYTES)
    throw new IdentityError('FERRY_TOKEN_KEY', `${file} does not hold a ${KEY_BYTES}-byte key`);
  return key;
}

export class WorkloadTokens implements CredentialVerifier {
  private readonly now: () => number;

  constructor(
    private readonly key: Buffer,
    options: { now?: () => number } = {},
  ) {
    this.now = options.now ?? Date.now;
  }

  /** A token for `name`, valid for `ttlMs`. */
  issue(name: WorkloadName, ttlMs: number): string {
    checkWorkloadName(name);
    const iat = Math.floor(this.now() / 1000);
    const payload: Payload = {
      ns: name.namespace,
      sa: name.serviceAccount,
      iat,
      exp: iat + Math.max(1, Math.floor(ttlMs / 1000)),
    };
    const body = Buffer.from(JSON.stringify(payload)).toString('base64url');
    return `${PREFIX}.${body}.${this.mac(body).toString('base64url')}`;
  }

  async verify(token: string): Promise<WorkloadName> {
    const parts = typeof token === 'string' ? token.trim().split('.') : [];
    if (parts.length !== 3 || parts[0] !== PREFIX)
      throw new IdentityError('FERRY_TOKEN_INVALID', 'the token is not a Ferry workload token');
    const [, body = '', sig = ''] = parts;
    const given = Buffer.from(sig, 'base64url');
    const want = this.mac(body);
    if (given.length !== want.length || !timingSafeEqual(given, want))
      throw new IdentityError(
        'FERRY_TOKEN_INVALID',
        'the token signature does not verify (issued under another CA directory, or altered)',
      );
    let payload: Payload;
    try {
      payload = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as Payload;
    } catch {
      throw new IdentityError('FERRY_TOKEN_INVALID', 'the token payload is not JSON');
    }
    if (
      typeof payload.exp !== 'number' ||
      typeof payload.ns !== 'string' ||
      typeof payload.sa !== 'string'
    )
      throw new IdentityError('FERRY_TOKEN_INVALID', 'the token payload lacks ns, sa or exp');
    if (payload.exp * 1000 <= this.now())
      throw new IdentityError(
        'FERRY_TOKEN_EXPIRED',
        `the token expired at ${new Date(payload.exp * 1000).toISOString()}; issue a new one with \`ferry token\``,
      );
    return checkWorkloadName({ namespace: payload.ns, serviceAccount: payload.sa });
  }

  private mac(body: string): Buffer {
    return createHmac('sha256', this.key).update(`${PREFIX}.${body}`).digest();
  }
}
