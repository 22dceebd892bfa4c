import { createECDH, randomBytes, type KeyObject } from 'node:crypto';
import { invalid } from '../shared/errors.js';

/**
 * ECDSA over a digest the caller already computed (Vault's `prehashed` for ECDSA keys, which sigstore/cosign use).
 * Node only signs messages it hashes itself, so this follows FIPS 186-5 §6.4 directly:
 *
 * - signing: the secret nonce k is multiplied onto the generator by OpenSSL (ECDH's public-key computation, so that
 *   scalar multiplication is OpenSSL's constant-time code, never JavaScript's); the remaining modular arithmetic on
 *   the private scalar is blinded by a fresh random factor so its timing does not follow the key;
 * - verifying: public data only, so plain affine arithmetic over BigInt.
 *
 * Curve orders are the published constants; tests check n·G = O and cross-check every signature with node's verify.
 */
interface Curve {
  openssl: string;
  p: bigint;
  n: bigint;
  /** Byte length of a scalar / coordinate. */
  bytes: number;
  g: Point;
}
type Point = { x: bigint; y: bigint } | null;

const P256_P = 2n ** 256n - 2n ** 224n + 2n ** 192n + 2n ** 96n - 1n;
const P384_P = 2n ** 384n - 2n ** 128n - 2n ** 96n + 2n ** 32n - 1n;
const P521_P = 2n ** 521n - 1n;
const ORDERS: Record<string, { openssl: string; p: bigint; n: bigint; bytes: number }> = {
  'P-256': {
    openssl: 'prime256v1',
    p: P256_P,
    bytes: 32,
    n: BigInt('0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551'),
  },
  'P-384': {
    openssl: 'secp384r1',
    p: P384_P,
    bytes: 48,
    n: BigInt('0xffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973'),
  },
  'P-521': {
    openssl: 'secp521r1',
    p: P521_P,
    bytes: 66,
    n: BigInt(
      '0x01fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffa51868783bf2f966b7fcc0148f709a5d03bb5c9b8899c47aebb6fb71e91386409',
    ),
  },
};
const curves = new Map<string, Curve>();

export function curveOf(name: string): Curve {
  const cached = curves.get(name);
  if (cached) return cached;
  const base = ORDERS[name];
  if (!base) throw invalid(`unsupported curve ${name}`);
  // The generator is 1·G, computed by OpenSSL rather than typed in.
  const g = publicPoint(base.openssl, base.bytes, 1n);
  const curve = { ...base, g };
  curves.set(name, curve);
  return curve;
}

const mod = (a: bigint, m: bigint) => ((a % m) + m) % m;

function inverse(a: bigint, m: bigint): bigint {
  let [oldR, r] = [mod(a, m), m];
  let [oldS, s] = [1n, 0n];
  while (r !== 0n) {
    const q = oldR / r;
    [oldR, r] = [r, oldR - q * r];
    [oldS, s] = [s, oldS - q * s];
  }
  if (oldR !== 1n) throw new Error('not invertible');
  return mod(oldS, m);
}

const toBigInt = (bytes: Uint8Array) => (bytes.length === 0 ? 0n : BigInt(`0x${Buffer.from(bytes).toString('hex')}`));
const toBytes = (value: bigint, length: number) => Buffer.from(value.toString(16).padStart(length * 2, '0'), 'hex');

function publicPoint(openssl: string, bytes: number, scalar: bigint): { x: bigint; y: bigint } {
  const ecdh = createECDH(openssl);
  ecdh.setPrivateKey(toBytes(scalar, bytes));
  const pub = ecdh.getPublicKey();
  return { x: toBigInt(pub.subarray(1, 1 + bytes)), y: toBigInt(pub.subarray(1 + bytes)) };
}

export function add(c: Curve, a: Point, b: Point): Point {
  if (!a) return b;
  if (!b) return a;
  if (a.x === b.x) {
    if (mod(a.y + b.y, c.p) === 0n) return null;
    return double(c, a);
  }
  const l = mod((b.y - a.y) * inverse(b.x - a.x, c.p), c.p);
  const x = mod(l * l - a.x - b.x, c.p);
  return { x, y: mod(l * (a.x - x) - a.y, c.p) };
}

function double(c: Curve, a: Point): Point {
  if (!a || a.y === 0n) return null;
  // a = -3 on all three NIST curves.
  const l = mod((3n * a.x * a.x - 3n) * inverse(2n * a.y, c.p), c.p);
  const x = mod(l * l - 2n * a.x, c.p);
  return { x, y: mod(l * (a.x - x) - a.y, c.p) };
}

/** Variable-time: public scalars and points only. */
export function multiply(c: Curve, k: bigint, point: Point): Point {
  let result: Point = null;
  let addend = point;
  for (let e = k; e > 0n; e >>= 1n) {
    if (e & 1n) result = add(c, result, addend);
    addend = double(c, addend);
  }
  return result;
}

/** FIPS 186-5 bits2int: the digest's leftmost bits, as many as the order has. */
function digestToInt(c: Curve, digest: Buffer): bigint {
  const nBits = c.n.toString(2).length;
  const z = toBigInt(digest);
  const excess = digest.length * 8 - nBits;
  return excess > 0 ? z >> BigInt(excess) : z;
}

function randomScalar(c: Curve): bigint {
  return (toBigInt(randomBytes(c.bytes + 16)) % (c.n - 1n)) + 1n;
}

function derInteger(value: bigint): Buffer {
  let bytes = Buffer.from(
    value.toString(16).padStart(value.toString(16).length + (value.toString(16).length % 2), '0'),
    'hex',
  );
  if (bytes[0]! & 0x80) bytes = Buffer.concat([Buffer.from([0]), bytes]);
  return Buffer.concat([Buffer.from([0x02]), derLength(bytes.length), bytes]);
}

function derLength(length: number): Buffer {
  return length < 0x80 ? Buffer.from([length]) : Buffer.from([0x81, length]);
}

export function signPrehashedEcdsa(
  curveName: string,
  privateKey: KeyObject,
  digest: Buffer,
  encoding: 'der' | 'ieee-p1363',
): Buffer {
  const c = curveOf(curveName);
  const d = toBigInt(Buffer.from(privateKey.export({ format: 'jwk' }).d!, 'base64url'));
  const z = digestToInt(c, digest);
  for (;;) {
    const k = randomScalar(c);
    const r = mod(publicPoint(c.openssl, c.bytes, k).x, c.n);
    if (r === 0n) continue;
    const t = randomScalar(c);
    const s = mod((z * t + r * mod(d * t, c.n)) * inverse(mod(k * t, c.n), c.n), c.n);
    if (s === 0n) continue;
    if (encoding === 'ieee-p1363') return Buffer.concat([toBytes(r, c.bytes), toBytes(s, c.bytes)]);
    const body = Buffer.concat([derInteger(r), derInteger(s)]);
    return Buffer.concat([Buffer.from([0x30]), derLength(body.length), body]);
  }
}

function parseSignature(c: Curve, signature: Buffer, encoding: 'der' | 'ieee-p1363'): { r: bigint; s: bigint } | null {
  if (encoding === 'ieee-p1363') {
    if (signature.length !== 2 * c.bytes) return null;
    return { r: toBigInt(signature.subarray(0, c.bytes)), s: toBigInt(signature.subarray(c.bytes)) };
  }
  // SEQUENCE { INTEGER r, INTEGER s } with short or one-byte long lengths (enough for P-521's 139-byte maximum).
  let at = 0;
  const readLength = (): number | null => {
    const first = signature[at++];
    if (first === undefined) return null;
    if (first < 0x80) return first;
    if (first !== 0x81) return null;
    const next = signature[at++];
    return next === undefined || next < 0x80 ? null : next;
  };
  if (signature[at++] !== 0x30) return null;
  const total = readLength();
  if (total === null || at + total !== signature.length) return null;
  const ints: bigint[] = [];
  for (let i = 0; i < 2; i++) {
    if (signature[at++] !== 0x02) return null;
    const length = readLength();
    if (length === null || length === 0 || at + length > signature.length) return null;
    ints.push(toBigInt(signature.subarray(at, at + length)));
    at += length;
  }
  return at === signature.length ? { r: ints[0]!, s: ints[1]! } : null;
}

export function verifyPrehashedEcdsa(
  curveName: string,
  publicKey: KeyObject,
  digest: Buffer,
  signature: Buffer,
  encoding: 'der' | 'ieee-p1363',
): boolean {
  const c = curveOf(curveName);
  const parsed = parseSignature(c, signature, encoding);
  if (!parsed) return false;
  const { r, s } = parsed;
  if (r <= 0n || r >= c.n || s <= 0n || s >= c.n) return false;
  const jwk = publicKey.export({ format: 'jwk' });
  const q = { x: toBigInt(Buffer.from(jwk.x!, 'base64url')), y: toBigInt(Buffer.from(jwk.y!, 'base64url')) };
  const w = inverse(s, c.n);
  const point = add(c, multiply(c, mod(digestToInt(c, digest) * w, c.n), c.g), multiply(c, mod(r * w, c.n), q));
  return point !== null && mod(point.x, c.n) === r;
}
