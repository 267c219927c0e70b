/**
 * What a crypto thread ({@link createCryptoPool}, entry `cryptoWorker.ts`) and the calling thread
 * share: the jobs, their answers, the messages between them, and {@link runCryptoJob}, which both
 * run. No thread code here: importing this starts nothing.
 */
import type { Hex } from 'viem'
import { recoverDigestSigner, type SignatureVerdict } from './recoverDigestSigner.ts'
import { signDigest } from './signDigest.ts'

/** One job: `s` signs `digest` with `key`, `r` recovers the signer of `sig` over `digest`. */
export type CryptoJob =
  | { k: 's'; digest: Hex | Uint8Array; key: Hex | Uint8Array }
  | { k: 'r'; digest: Hex | Uint8Array; sig: Hex | Uint8Array }

/** A job's answer: the signature or the verdict, or the message of what the function threw. */
export type CryptoAnswer = { v: Hex | SignatureVerdict } | { e: string }

/**
 * A batch sent to a crypto thread, and what comes back; `close` ends the thread once it answered
 * what it was sent before (ended from outside while in the native addon, the process aborts).
 */
export type CryptoBatch = { id: number; jobs: CryptoJob[] }
export type CryptoClose = { close: true }
export type CryptoBatchResult = { id: number; answers: CryptoAnswer[] }
/** The first message of a thread: it has loaded, with this backend. */
export type CryptoThreadReady = { ready: string }

/**
 * Runs one job as the calling thread would.
 *
 * @example
 * ```ts
 * runCryptoJob({ k: 'r', digest, sig }) // { v: { ok: true, signer: '0x…' } }
 * ```
 */
export function runCryptoJob(job: CryptoJob): CryptoAnswer {
  try {
    return { v: job.k === 's' ? signDigest(job.digest, job.key) : recoverDigestSigner(job.digest, job.sig) }
  } catch (e) {
    return { e: e instanceof Error ? e.message : String(e) }
  }
}
