import type { Hex } from 'viem'

/**
 * A signed message from a device or an oracle that passed every check (schema, chain, topic,
 * known signer, freshness, replay, signature). The engine treats `message` as opaque; apps verify
 * the signature again themselves, inside the sandbox and on chain.
 */
export type VerifiedInput = {
  kind: 'reading' | 'answer'
  /** The signer's bytes32 id (lower-case hex): a left-padded address (secp256k1) or keccak256(x || y) (P-256). */
  signer: Hex
  /**
   * The replay key within the signer's stream: the reading's sequence number, or the answer's
   * timestamp (answers are streamed per question id, see `stream`).
   */
  sequence: bigint
  /** The stream `sequence` increases within: `'readings'` for a device, the question id for an answer. */
  stream: string
  /** The chain id the message is bound to (EIP-712 domain). */
  chainId: bigint
  /** The typed message as signed (readings: device, sequence, timestamp, kind, value, unit; answers: questionId, answer, timestamp). */
  message: Record<string, unknown>
  /** The EIP-712 digest that was signed. */
  digest: Hex
  /** The signature's curve (`secp256k1` or `p256`). */
  curve: string
  signature: Hex
  /** The P-256 public key `x || y` (64 bytes); undefined for secp256k1. */
  publicKey: Hex | undefined
  /** Where it came from (an MQTT topic, or a name the source chooses). */
  topic: string
  /** Local clock (ms) when it was accepted. */
  receivedAt: number
}

/** Why an input was rejected before it could reach the sandbox. */
export type InputRejection =
  | 'schema'
  | 'wrong-chain'
  | 'topic'
  | 'signature'
  | 'unknown-signer'
  | 'replay'
  | 'stale'
  | 'future'
  | 'retained'
  | 'duplicate'
  | 'rate-limited'

/**
 * The finer name of a rejection, where a source tells more than its `InputRejection`: a signer that
 * signed two different messages with one sequence (`equivocation`), a sequence at or below the
 * signer's highest accepted one (`stale-sequence`), a payload that is not strict JSON
 * (`malformed`), a forged or non-canonical signature (`bad-signature`), a new signer beyond the
 * bound of remembered signers (`too-many-signers`); otherwise the `InputRejection` itself.
 */
export type InputRejectionVerdict =
  | Exclude<InputRejection, 'signature' | 'replay'>
  | 'malformed'
  | 'bad-signature'
  | 'equivocation'
  | 'stale-sequence'
  | 'too-many-signers'

/** One rejected input, as reported to `onRejection` handlers. */
export type InputRejectionEvent = {
  reason: InputRejection
  /** The finer name, when the source knows it (an equivocating device is told apart from a replay). */
  verdict?: InputRejectionVerdict
  /** One line a person can read (never the whole payload). */
  detail: string
  topic: string
}

/**
 * The port through which verified device readings and oracle answers reach the engine. The MQTT
 * adapter in `oracles/mqtt` implements it; tests may feed one directly.
 */
export interface InputSource {
  onInput(handler: (input: VerifiedInput) => void): () => void
  /**
   * Registers a handler for every rejected input (for logs, metrics, tests). Refusals made before
   * the first handler was registered are handed to it when it is (the MQTT source holds up to 1,000).
   */
  onRejection(handler: (rejection: InputRejectionEvent) => void): () => void
  /** Counts of accepted and rejected inputs, by reason. */
  stats(): {
    accepted: number
    rejected: Record<InputRejection, number>
    /** Rejections by their finer name, for the sources that tell it. */
    verdicts?: Partial<Record<InputRejectionVerdict, number>>
  }
  close(): Promise<void>
}
