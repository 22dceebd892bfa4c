import { constants, createPublicKey, privateEncrypt, publicDecrypt, sign, verify, type KeyObject } from 'node:crypto';
import { constantTimeEqual } from '../crypto/hmac.js';
import { invalid } from '../shared/errors.js';
import { hashInfo, type HashInfo } from './digest.js';
import { isEcdsa, isRsa } from './key-types.js';
import { signPrehashedEcdsa, verifyPrehashedEcdsa } from './ecdsa-prehashed.js';
import { signPssPrehashed, verifyPssPrehashed } from './pss.js';

const CURVES: Record<string, string> = { 'ecdsa-p256': 'P-256', 'ecdsa-p384': 'P-384', 'ecdsa-p521': 'P-521' };

/**
 * Signatures as Vault's transit makes them: Ed25519 over the input itself; ECDSA over a hash of the input, ASN.1 DER
 * or JWS (r || s, base64url) marshaled; RSA with PSS (default) or PKCS#1 v1.5 over a hash, or over the caller's own
 * hash when `prehashed`. node:crypto only: a prehashed RSA signature is the PKCS#1 v1.5 DigestInfo block, or the
 * EMSA-PSS encoding (pss.ts), through the raw RSA private operation; prehashed ECDSA is in ecdsa-prehashed.ts.
 */
export interface SignOptions {
  hashAlgorithm?: string;
  prehashed?: boolean;
  signatureAlgorithm?: string;
  /** 'auto' (default), 'hash', or a number of bytes. */
  saltLength?: string | number;
  marshalingAlgorithm?: string;
}

interface Resolved {
  hash: HashInfo | null;
  prehashed: boolean;
  pss: boolean;
  jws: boolean;
}

function resolve(type: string, options: SignOptions): Resolved {
  const prehashed = options.prehashed === true;
  const marshaling = options.marshalingAlgorithm ?? 'asn1';
  if (marshaling !== 'asn1' && marshaling !== 'jws')
    throw invalid(`unsupported marshaling_algorithm "${marshaling}"; use asn1 or jws`);
  if (marshaling === 'jws' && !isEcdsa(type)) throw invalid('marshaling_algorithm "jws" is only valid for ECDSA keys');
  const algorithm = options.signatureAlgorithm ?? (isRsa(type) ? 'pss' : undefined);
  if (algorithm !== undefined && !isRsa(type)) throw invalid('signature_algorithm is only valid for RSA keys');
  if (algorithm !== undefined && algorithm !== 'pss' && algorithm !== 'pkcs1v15') {
    throw invalid(`unsupported signature_algorithm "${algorithm}"; use pss or pkcs1v15`);
  }
  const pss = algorithm === 'pss';
  if (type === 'ed25519') {
    if (prehashed) throw invalid('prehashed is not supported for ed25519 keys');
    return { hash: null, prehashed, pss: false, jws: false };
  }
  if (options.hashAlgorithm === 'none') {
    if (!(isRsa(type) && !pss && prehashed))
      throw invalid('hash_algorithm "none" requires an RSA key, signature_algorithm pkcs1v15 and prehashed input');
    return { hash: null, prehashed, pss, jws: false };
  }
  return { hash: hashInfo(options.hashAlgorithm), prehashed, pss, jws: marshaling === 'jws' };
}

function saltLengthOf(options: SignOptions, forSigning: boolean): number {
  const value = options.saltLength ?? 'auto';
  if (value === 'auto') return forSigning ? constants.RSA_PSS_SALTLEN_MAX_SIGN : constants.RSA_PSS_SALTLEN_AUTO;
  if (value === 'hash') return constants.RSA_PSS_SALTLEN_DIGEST;
  const n = typeof value === 'number' ? value : /^[0-9]{1,5}$/.test(value) ? Number(value) : NaN;
  if (!Number.isInteger(n) || n < 0) throw invalid('salt_length must be "auto", "hash" or a non-negative integer');
  return n;
}

function checkedDigest(resolved: Resolved, input: Buffer): Buffer {
  if (resolved.hash && input.length !== resolved.hash.bytes) {
    throw invalid(`prehashed input must be a ${resolved.hash.name} digest of ${resolved.hash.bytes} bytes`);
  }
  return input;
}

function prehashedBlock(resolved: Resolved, input: Buffer): Buffer {
  const digest = checkedDigest(resolved, input);
  return resolved.hash ? Buffer.concat([resolved.hash.digestInfo, digest]) : digest;
}

export function signWith(type: string, key: KeyObject, input: Buffer, options: SignOptions): Buffer {
  const resolved = resolve(type, options);
  if (type === 'ed25519') return sign(null, input, key);
  if (isEcdsa(type) && resolved.prehashed) {
    return signPrehashedEcdsa(CURVES[type]!, key, checkedDigest(resolved, input), resolved.jws ? 'ieee-p1363' : 'der');
  }
  if (isEcdsa(type)) return sign(resolved.hash!.node, input, { key, dsaEncoding: resolved.jws ? 'ieee-p1363' : 'der' });
  if (resolved.prehashed && resolved.pss)
    return signPssPrehashed(key, resolved.hash!.node, checkedDigest(resolved, input), options.saltLength);
  if (resolved.prehashed)
    return privateEncrypt({ key, padding: constants.RSA_PKCS1_PADDING }, prehashedBlock(resolved, input));
  return sign(resolved.hash!.node, input, {
    key,
    padding: resolved.pss ? constants.RSA_PKCS1_PSS_PADDING : constants.RSA_PKCS1_PADDING,
    ...(resolved.pss ? { saltLength: saltLengthOf(options, true) } : {}),
  });
}

/** False for a signature that does not verify (including a malformed one); throws only for bad options. */
export function verifyWith(
  type: string,
  key: KeyObject,
  input: Buffer,
  signature: Buffer,
  options: SignOptions,
): boolean {
  const resolved = resolve(type, options);
  const pub = createPublicKey(key);
  try {
    if (type === 'ed25519') return verify(null, input, pub, signature);
    if (isEcdsa(type) && resolved.prehashed) {
      return verifyPrehashedEcdsa(
        CURVES[type]!,
        pub,
        checkedDigest(resolved, input),
        signature,
        resolved.jws ? 'ieee-p1363' : 'der',
      );
    }
    if (isEcdsa(type))
      return verify(
        resolved.hash!.node,
        input,
        { key: pub, dsaEncoding: resolved.jws ? 'ieee-p1363' : 'der' },
        signature,
      );
    if (resolved.prehashed && resolved.pss)
      return verifyPssPrehashed(
        pub,
        resolved.hash!.node,
        checkedDigest(resolved, input),
        signature,
        options.saltLength,
      );
    if (resolved.prehashed) {
      const expected = prehashedBlock(resolved, input);
      const recovered = publicDecrypt({ key: pub, padding: constants.RSA_PKCS1_PADDING }, signature);
      return constantTimeEqual(recovered, expected);
    }
    return verify(
      resolved.hash!.node,
      input,
      {
        key: pub,
        padding: resolved.pss ? constants.RSA_PKCS1_PSS_PADDING : constants.RSA_PKCS1_PADDING,
        ...(resolved.pss ? { saltLength: saltLengthOf(options, false) } : {}),
      },
      signature,
    );
  } catch (err) {
    if (err instanceof Error && 'code' in err && String((err as { code?: unknown }).code).startsWith('ERR_OSSL'))
      return false;
    throw err;
  }
}
