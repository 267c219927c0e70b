import type { ContractFunctionArgs, Hex } from 'viem'
import { OracleMessagesHarness } from '../../contracts/generated/OracleMessagesHarness.ts'

type HarnessAbi = typeof OracleMessagesHarness.abi

/**
 * A device reading, exactly the Solidity `Reading` struct of `contracts/src/oracles/OracleMessages.sol`
 * (generated from the compiled ABI): `device` (bytes32 signer id), `sequence` (uint64),
 * `timestamp` (uint64, unix seconds), `kind` (bytes32 ASCII), `value` (int64), `unit` (bytes32 ASCII).
 */
export type Reading = ContractFunctionArgs<HarnessAbi, 'pure', 'readingDigest'>[1]

/** An oracle answer, exactly the Solidity `Answer` struct: `questionId`, `answer` (bytes32), `timestamp` (uint64 s). */
export type Answer = ContractFunctionArgs<HarnessAbi, 'pure', 'answerDigest'>[1]

/** The Solidity `OracleSig` struct an app receives in its action (see `oracleSignatureToStruct`). */
export type OracleSigStruct = ContractFunctionArgs<HarnessAbi, 'view', 'signerOf'>[1]

/** The curves a device or oracle key may use. P-256 is what secure elements such as the ATECC608 carry. */
export type Curve = 'secp256k1' | 'p256'

/** The `OracleSig.curve` byte for each curve. */
export const curveIds = { secp256k1: 1, p256: 2 } as const satisfies Record<Curve, number>

/** A private signing key of a device or oracle. */
export type OracleKey = { curve: Curve; privateKey: Hex }

/**
 * A signature over an oracle-message digest.
 * - secp256k1: 65 bytes `r || s || v`, v in {27, 28}, low s.
 * - P-256: 64 bytes `r || s`, low s, with the 64-byte uncompressed public key `x || y` (no 0x04 prefix).
 */
export type OracleSignature =
  { curve: 'secp256k1'; signature: Hex } | { curve: 'p256'; signature: Hex; publicKey: Hex }

export type SignedReading = { chainId: bigint; reading: Reading; signature: OracleSignature }
export type SignedAnswer = { chainId: bigint; answer: Answer; signature: OracleSignature }

/**
 * Why a signature was refused. `encoding`: a byte string that is not `0x` and hex digits (no
 * transaction can carry it, so Solidity has no error for it). Each other reason maps to one
 * Solidity custom error (docs/messages.md): `curve` UnknownCurve, `public-key` UnexpectedPublicKey (or a P-256 key that is not 64 bytes),
 * `length` Sig.BadSignatureLength / BadP256SignatureLength, `v` Sig.BadSignatureV,
 * `high-s` Sig.HighS / P256HighS, `invalid` Sig.InvalidSignature / P256InvalidSignature,
 * `wrong-signer` WrongSigner.
 */
export type SignatureRejection =
  'encoding' | 'curve' | 'public-key' | 'length' | 'v' | 'high-s' | 'invalid' | 'wrong-signer'

/** A verdict on one signature: the signer id, or why not. */
export type OracleSignatureVerdict = { ok: true; signer: Hex } | { ok: false; reason: SignatureRejection }

/** Why a quorum was refused: a signature's reason, or one of the quorum rules. */
export type QuorumRejection =
  SignatureRejection | 'unknown-oracle' | 'duplicate-oracle' | 'bad-quorum' | 'quorum-not-met'

export type QuorumVerdict =
  | { ok: true; signers: Hex[] }
  | {
      ok: false
      reason: QuorumRejection
      /** Index of the offending signature, when one is to blame. */ index?: number
    }
