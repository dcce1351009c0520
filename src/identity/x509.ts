/**
 * @peculiar/x509, set up once to use node's WebCrypto (it needs reflect-metadata loaded
 * first), plus the PEM and key helpers the CA and the workload side share.
 */
import 'reflect-metadata';
import { createPrivateKey, createPublicKey, type KeyObject, webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

export { x509 };
export type CryptoKey = webcrypto.CryptoKey;
export type CryptoKeyPair = webcrypto.CryptoKeyPair;

/** ECDSA P-256 with SHA-256: the only key type Ferry issues for. */
export const P256 = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

export async function generateP256(): Promise<CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey(P256, true, ['sign', 'verify'])) as CryptoKeyPair;
}

/** PKCS#8 PEM of a private CryptoKey. */
export async function privateKeyPem(key: CryptoKey): Promise<string> {
  const der = await webcrypto.subtle.exportKey('pkcs8', key);
  return createPrivateKey({ key: Buffer.from(der), format: 'der', type: 'pkcs8' }).export({
    format: 'pem',
    type: 'pkcs8',
  }) as string;
}

/** Each certificate of a PEM text (several may be concatenated). */
export function splitPem(text: string): string[] {
  return text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
}

/** Whether a public key (any form node accepts) is ECDSA P-256. */
export function isP256(key: KeyObject): boolean {
  return key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1';
}

export function spkiOf(key: KeyObject): Buffer {
  const pub = key.type === 'public' ? key : createPublicKey(key);
  return pub.export({ format: 'der', type: 'spki' });
}

/**
 * The WebCrypto signing key and algorithm for a CA key node has parsed: EC P-256/P-384
 * (ECDSA) or RSA (PKCS#1 v1.5), each with the hash X.509 CAs pair with it.
 */
export async function signingKeyFor(
  key: KeyObject,
): Promise<{ key: CryptoKey; algorithm: Algorithm | EcdsaParams | RsaHashedImportParams }> {
  const der = key.export({ format: 'der', type: 'pkcs8' });
  if (key.asymmetricKeyType === 'ec') {
    const curve = key.asymmetricKeyDetails?.namedCurve;
    const params =
      curve === 'prime256v1'
        ? { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' }
        : curve === 'secp384r1'
          ? { name: 'ECDSA', namedCurve: 'P-384', hash: 'SHA-384' }
          : undefined;
    if (!params) throw new Error(`EC curve ${curve} is not supported (P-256 or P-384)`);
    const k = await webcrypto.subtle.importKey('pkcs8', der, params, false, ['sign']);
    return { key: k, algorithm: params };
  }
  if (key.asymmetricKeyType === 'rsa') {
    const params = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' };
    const k = await webcrypto.subtle.importKey('pkcs8', der, params, false, ['sign']);
    return { key: k, algorithm: params };
  }
  throw new Error(`key type ${key.asymmetricKeyType} is not supported (EC or RSA)`);
}

type Algorithm = { name: string };
type EcdsaParams = { name: string; namedCurve?: string; hash: string };
type RsaHashedImportParams = { name: string; hash: string };
