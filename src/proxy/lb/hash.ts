/**
 * The hash of ring hash and Maglev: hosts are placed by it, and the data path hashes request
 * keys (header values, cookies, source IPs) with it.
 *
 * Hashes are 53-bit unsigned integers held in plain numbers (`Number.isSafeInteger`), so the hot
 * path never allocates a BigInt. `hashKey` runs two murmur3-style 32-bit lanes over the string's
 * UTF-16 code units, two units per block, then cross-mixes and finalises both lanes; 21 bits
 * of one lane and 32 of the other form the result. It is stable across Ferry processes and
 * versions of Node, but it is not Envoy's xxHash64, so a Ferry sidecar and an Envoy map the
 * same key to different hosts.
 */

const TWO_32 = 4294967296;
const TWO_52 = 4503599627370496;
/** Hashes lie in [0, HASH_SPACE). */
export const HASH_SPACE = 9007199254740992;

function fmix32(h: number): number {
  let x = h;
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  x ^= x >>> 16;
  return x;
}

/**
 * A 53-bit hash of `s`. Different seeds give independent hashes (Maglev uses seeds 0 and 1 for a
 * host's offset and skip).
 */
export function hashKey(s: string, seed = 0): number {
  let h1 = seed | 0;
  let h2 = (seed ^ 0x9e3779b9) | 0;
  const n = s.length;
  let i = 0;
  for (; i + 1 < n; i += 2) {
    const block = s.charCodeAt(i) | (s.charCodeAt(i + 1) << 16);
    let k1 = Math.imul(block, 0xcc9e2d51);
    k1 = (k1 << 15) | (k1 >>> 17);
    h1 ^= Math.imul(k1, 0x1b873593);
    h1 = (h1 << 13) | (h1 >>> 19);
    h1 = (Math.imul(h1, 5) + 0xe6546b64) | 0;
    let k2 = Math.imul(block, 0x38b34ae5);
    k2 = (k2 << 17) | (k2 >>> 15);
    h2 ^= Math.imul(k2, 0xa1e38b93);
    h2 = (h2 << 15) | (h2 >>> 17);
    h2 = (Math.imul(h2, 5) + 0x0bcaa747) | 0;
  }
  if (i < n) {
    const unit = s.charCodeAt(i);
    let k1 = Math.imul(unit, 0xcc9e2d51);
    k1 = (k1 << 15) | (k1 >>> 17);
    h1 ^= Math.imul(k1, 0x1b873593);
    let k2 = Math.imul(unit, 0x38b34ae5);
    k2 = (k2 << 17) | (k2 >>> 15);
    h2 ^= Math.imul(k2, 0xa1e38b93);
  }
  h1 ^= n;
  h2 ^= n;
  h1 = (h1 + h2) | 0;
  h2 = (h2 + h1) | 0;
  h1 = fmix32(h1);
  h2 = fmix32(h2);
  h1 = (h1 + h2) | 0;
  h2 = (h2 + h1) | 0;
  return (h1 >>> 11) * TWO_32 + (h2 >>> 0);
}

/**
 * Folds the hashes of several hash policies into one, as Envoy does with 64-bit hashes:
 * rotate the running hash left by one bit (here within 53 bits) and xor the next.
 */
export function combineHashes(running: number, next: number): number {
  const rotated = (running % TWO_52) * 2 + Math.floor(running / TWO_52);
  const hi = (Math.floor(rotated / TWO_32) ^ Math.floor(next / TWO_32)) & 0x1fffff;
  const lo = ((rotated >>> 0) ^ (next >>> 0)) >>> 0;
  return hi * TWO_32 + lo;
}

/**
 * A request hash as an integer in [0, HASH_SPACE). Numbers from `hashKey` pass unchanged; a
 * 64-bit hash (a bigint, or a number beyond 2^53) keeps its top 53 bits; anything else is folded
 * deterministically, so equal inputs always land on the same host.
 */
export function toHash53(hash: number | bigint): number {
  let x = typeof hash === 'number' ? hash : Number(hash);
  if (x < 0) x = -x;
  if (!(x < HASH_SPACE)) {
    if (!(x < Number.POSITIVE_INFINITY)) return 0;
    x /= 2048;
    if (x >= HASH_SPACE) x %= HASH_SPACE;
  }
  return Math.floor(x);
}
