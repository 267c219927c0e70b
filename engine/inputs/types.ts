import type { Hex } from 'viem'

/**
 * A signed message from a device or an oracle that passed every check (schema, signature, known
 * signer, freshness, replay). The engine treats `message` as opaque; apps verify the signature
 * again themselves, inside the sandbox and on chain.
 */
export type VerifiedInput = {
  kind: 'reading' | 'answer'
  /** The signer's identity: an address (secp256k1) or a P-256 key id. */
  signer: string
  /** Per-signer sequence number (readings) or question id hash (answers) used for replay checks. */
  sequence: bigint
  /** The typed message as signed. */
  message: Record<string, unknown>
  signature: Hex
  /** Local clock (ms) when it was accepted. */
  receivedAt: number
}

/** Why an input was rejected before it could reach the sandbox. */
export type InputRejection = 'schema' | 'signature' | 'unknown-signer' | 'replay' | 'stale' | 'future' | 'retained' | 'duplicate'

/**
 * The port through which verified device readings and oracle answers reach the engine. The MQTT
 * adapter in `oracles/mqtt` implements it; tests may feed one directly.
 */
export interface InputSource {
  onInput(handler: (input: VerifiedInput) => void): () => void
  /** Counts of accepted and rejected inputs, by reason. */
  stats(): { accepted: number; rejected: Record<InputRejection, number> }
  close(): Promise<void>
}
