import { p256 } from '@noble/curves/nist.js'
import { bytesToHex, hashDomain, hashStruct, hexToBytes, keccak256, toHex, type Hex } from 'viem'
import { SECP256K1_HALF_N } from '../../engine/crypto/recoverDigestSigner.ts'
import { answerToEnvelope } from './answerToEnvelope.ts'
import { getP256PublicKey } from './getP256PublicKey.ts'
import { getSignerId } from './getSignerId.ts'
import { hashAnswer } from './hashAnswer.ts'
import { hashReading } from './hashReading.ts'
import { oracleDomain, oracleTypes } from './oracleDomain.ts'
import { readingToEnvelope } from './readingToEnvelope.ts'
import { signAnswer } from './signAnswer.ts'
import { signReading } from './signReading.ts'
import { textToBytes32 } from './textToBytes32.ts'
import type { Answer, OracleKey, OracleSignature, Reading, SignatureRejection } from './types.ts'
import { P256_N } from './verifyOracleSignature.ts'

/** One vector: a message, its hashes, a signature and the verdict every verifier must reach. */
export type TestVector = {
  name: string
  kind: 'reading' | 'answer'
  /** The key that produced the signature (before any tampering). */
  key: string
  /** The chain id the verifier checks against. */
  chainId: string
  /** The message with every number as a decimal string. */
  message: Record<string, string>
  domainSeparator: Hex
  structHash: Hex
  digest: Hex
  signature: { curve: string; signature: Hex; publicKey?: Hex }
  /** The verifier's signer id (`ok`), or the TS reason. `oracle`: the signer id an answer must be from. */
  expect: { ok: true; signer: Hex } | { ok: false; reason: SignatureRejection }
  /** The JSON envelope (valid vectors only). */
  envelope?: Record<string, unknown>
}

export type TestVectors = {
  description: string
  domain: { name: string; version: string }
  types: typeof oracleTypes
  keys: { name: string; curve: string; privateKey: Hex; publicKey: Hex; signerId: Hex }[]
  vectors: TestVector[]
}

const SECP_N = SECP256K1_HALF_N * 2n + 1n

/** Fixed keys: never use them for anything real. */
export const testVectorKeys: Record<string, OracleKey> = {
  'device-p256': {
    curve: 'p256',
    privateKey: '0xc9afa9d845ba75166b5c215767b1d6934e50c3db36e89b127b8a622b120f6721',
  },
  'device-secp256k1': {
    curve: 'secp256k1',
    privateKey: '0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318',
  },
  'oracle-secp256k1': {
    curve: 'secp256k1',
    privateKey: '0x0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef',
  },
  'oracle-p256': {
    curve: 'p256',
    privateKey: '0x0000000000000000000000000000000000000000000000000000000000000001',
  },
}

const strings = (o: Record<string, unknown>) =>
  Object.fromEntries(Object.entries(o).map(([k, v]) => [k, typeof v === 'bigint' ? v.toString() : String(v)]))

function tamper(sig: OracleSignature, f: (b: Uint8Array) => Uint8Array): OracleSignature {
  return { ...sig, signature: bytesToHex(f(hexToBytes(sig.signature))) }
}

function highS(sig: OracleSignature): OracleSignature {
  return tamper(sig, (b) => {
    const n = sig.curve === 'p256' ? P256_N : SECP_N
    b.set(hexToBytes(toHex(n - BigInt(bytesToHex(b.subarray(32, 64))), { size: 32 })), 32)
    if (sig.curve === 'secp256k1') b[64] = b[64] === 27 ? 28 : 27
    return b
  })
}

/**
 * The test vectors of `oracles/message/vectors.json`: deterministic (fixed keys, RFC 6979
 * nonces), for both curves and both message kinds, valid and tampered. Firmware authors check their
 * signer against them; `test/oracles/vectors.test.ts` checks that this function still produces the
 * file and that TypeScript and Solidity reach every verdict.
 *
 * @example
 * ```ts
 * writeFileSync('vectors.json', JSON.stringify(createTestVectors(), null, 2) + '\n')
 * ```
 */
export function createTestVectors(): TestVectors {
  const chainId = 31337n
  const vectors: TestVector[] = []
  const domainSeparator = (c: bigint) =>
    hashDomain({
      domain: oracleDomain(c),
      types: {
        EIP712Domain: [
          { name: 'name', type: 'string' },
          { name: 'version', type: 'string' },
          { name: 'chainId', type: 'uint256' },
        ],
      },
    })

  const addReading = (
    name: string,
    keyName: string,
    reading: Reading,
    sig: OracleSignature,
    expect: TestVector['expect'],
    verifyChain = chainId,
    envelope = false,
  ) => {
    vectors.push({
      name,
      kind: 'reading',
      key: keyName,
      chainId: verifyChain.toString(),
      message: strings(reading),
      domainSeparator: domainSeparator(verifyChain),
      structHash: hashStruct({ data: reading, primaryType: 'Reading', types: oracleTypes }),
      digest: hashReading(verifyChain, reading),
      signature: sig,
      expect,
      ...(envelope ? { envelope: readingToEnvelope({ chainId, reading, signature: sig }) } : {}),
    })
  }
  const addAnswer = (
    name: string,
    keyName: string,
    answer: Answer,
    sig: OracleSignature,
    expect: TestVector['expect'],
    envelope = false,
  ) => {
    const key = testVectorKeys[keyName] as OracleKey
    vectors.push({
      name,
      kind: 'answer',
      key: keyName,
      chainId: chainId.toString(),
      message: strings(answer),
      domainSeparator: domainSeparator(chainId),
      structHash: hashStruct({ data: answer, primaryType: 'Answer', types: oracleTypes }),
      digest: hashAnswer(chainId, answer),
      signature: sig,
      expect,
      ...(envelope
        ? { envelope: answerToEnvelope({ chainId, answer, signature: sig }, getSignerId(key)) }
        : {}),
    })
  }

  for (const keyName of ['device-p256', 'device-secp256k1']) {
    const key = testVectorKeys[keyName] as OracleKey
    const device = getSignerId(key)
    const base: Reading = {
      device,
      sequence: 1n,
      timestamp: 1_700_000_000n,
      kind: textToBytes32('temperature'),
      value: 4_250n,
      unit: textToBytes32('mC'),
    }
    const cold: Reading = { ...base, sequence: 2n, timestamp: 1_700_000_060n, value: -18_250n }
    for (const [label, r] of [
      ['4.25 °C', base],
      ['-18.25 °C (negative int64)', cold],
    ] as const) {
      const s = signReading({ chainId, reading: r, key }).signature
      addReading(`${key.curve} reading ${label}`, keyName, r, s, { ok: true, signer: device }, chainId, true)
    }
    const s = signReading({ chainId, reading: base, key }).signature
    addReading(
      `${key.curve} reading checked against chain id 1`,
      keyName,
      base,
      s,
      key.curve === 'p256' ? { ok: false, reason: 'invalid' } : { ok: false, reason: 'wrong-signer' },
      1n,
    )
    addReading(
      `${key.curve} reading with the value changed after signing`,
      keyName,
      { ...base, value: 4_251n },
      s,
      key.curve === 'p256' ? { ok: false, reason: 'invalid' } : { ok: false, reason: 'wrong-signer' },
    )
    addReading(`${key.curve} reading with the high-s twin of a valid signature`, keyName, base, highS(s), {
      ok: false,
      reason: 'high-s',
    })
    addReading(
      `${key.curve} reading with a truncated signature`,
      keyName,
      base,
      tamper(s, (b) => b.subarray(0, b.length - 1)),
      { ok: false, reason: 'length' },
    )
    // secp256k1: this r is not the x of a curve point, so nothing can be recovered (`invalid`);
    // another r could recover some other key (`wrong-signer`). Solidity must agree either way.
    addReading(
      `${key.curve} reading with the last bit of r flipped`,
      keyName,
      base,
      tamper(s, (b) => {
        b[31] = (b[31] ?? 0) ^ 1
        return b
      }),
      { ok: false, reason: 'invalid' },
    )
    // Not 0x hex: refused before any curve arithmetic; no transaction could carry these strings.
    addReading(
      `${key.curve} reading with the signature spelled 0X…`,
      keyName,
      base,
      { ...s, signature: `0X${s.signature.slice(2)}` as Hex },
      { ok: false, reason: 'encoding' },
    )
    addReading(
      `${key.curve} reading with an odd number of hex digits`,
      keyName,
      base,
      { ...s, signature: `${s.signature}0` as Hex },
      { ok: false, reason: 'encoding' },
    )
    if (key.curve === 'secp256k1') {
      addReading(
        'secp256k1 reading with v = 29',
        keyName,
        base,
        tamper(s, (b) => {
          b[64] = 29
          return b
        }),
        { ok: false, reason: 'v' },
      )
      addReading(
        'secp256k1 reading with v = 0/1 instead of 27/28',
        keyName,
        base,
        tamper(s, (b) => {
          b[64] = (b[64] ?? 27) - 27
          return b
        }),
        { ok: false, reason: 'v' },
      )
      addReading(
        'secp256k1 reading signed by another key',
        'oracle-secp256k1',
        base,
        signReading({ chainId, reading: base, key: testVectorKeys['oracle-secp256k1'] as OracleKey })
          .signature,
        { ok: false, reason: 'wrong-signer' },
      )
    } else {
      addReading(
        'p256 reading with r = 0',
        keyName,
        base,
        tamper(s, (b) => {
          b.fill(0, 0, 32)
          return b
        }),
        { ok: false, reason: 'invalid' },
      )
      addReading(
        'p256 reading signed by another P-256 key (its own public key attached)',
        'oracle-p256',
        base,
        signReading({ chainId, reading: base, key: testVectorKeys['oracle-p256'] as OracleKey }).signature,
        { ok: false, reason: 'wrong-signer' },
      )
      // ES256 signs sha256(digest): a signature of the digest itself (RFC 6979 too) must fail.
      const raw = p256.sign(hexToBytes(hashReading(chainId, base)), hexToBytes(key.privateKey), {
        prehash: false,
        lowS: true,
      })
      addReading(
        'p256 reading signed over the digest itself instead of sha256(digest)',
        keyName,
        base,
        { ...s, signature: bytesToHex(raw) },
        { ok: false, reason: 'invalid' },
      )
      addReading(
        'p256 signature presented as secp256k1',
        keyName,
        base,
        { curve: 'secp256k1', signature: s.signature },
        { ok: false, reason: 'length' },
      )
    }
  }
  const answer: Answer = {
    questionId: keccak256(toHex('TRACK-123')),
    answer: textToBytes32('delivered'),
    timestamp: 1_700_000_100n,
  }
  for (const keyName of ['oracle-secp256k1', 'oracle-p256']) {
    const key = testVectorKeys[keyName] as OracleKey
    const s = signAnswer({ chainId, answer, key }).signature
    addAnswer(
      `${key.curve} answer "delivered" for TRACK-123`,
      keyName,
      answer,
      s,
      { ok: true, signer: getSignerId(key) },
      true,
    )
    addAnswer(`${key.curve} answer with the high-s twin`, keyName, answer, highS(s), {
      ok: false,
      reason: 'high-s',
    })
  }
  return {
    description:
      'chanvm oracle message test vectors (docs/messages.md). Every number is a decimal string; kind/unit/answer are bytes32. ' +
      'For each vector: digest = keccak256(0x1901 || domainSeparator || structHash); verifying `signature` against `digest` for chain `chainId` ' +
      '(P-256 is ES256: ECDSA over sha256(digest), RFC 6979 nonces here) ' +
      'must give `expect` (a reading must also be signed by its `device`). Regenerate: npx tsx oracles/message/writeTestVectors.ts',
    domain: { name: oracleDomain(chainId).name, version: oracleDomain(chainId).version },
    types: oracleTypes,
    keys: Object.entries(testVectorKeys).map(([name, key]) => ({
      name,
      curve: key.curve,
      privateKey: key.privateKey,
      publicKey: key.curve === 'p256' ? getP256PublicKey(key.privateKey) : ('0x' as Hex),
      signerId: getSignerId(key),
    })),
    vectors,
  }
}
