/**
 * A worker thread of `bench/oracles.ts`: verifies the signatures it is given with
 * `verifyOracleSignature` (the input source's check), once to warm up and once timed, and posts
 * `{ verified, ms }` back.
 */
import { parentPort, workerData } from 'node:worker_threads'
import type { Hex } from 'viem'
import type { OracleSignature } from '../oracles/message/types.ts'
import { verifyOracleSignature } from '../oracles/message/verifyOracleSignature.ts'

/** One signature to check: the digest it signs and the signature as the envelope carries it. */
export type VerifyJob = { digest: Hex; signature: OracleSignature }

/**
 * Verifies every job (a warm-up pass, then a timed one) and returns how many verified and the
 * timed pass's milliseconds.
 *
 * @example
 * ```ts
 * const { verified, ms } = verifyJobs(jobs)
 * ```
 */
export function verifyJobs(jobs: readonly VerifyJob[]): { verified: number; ms: number } {
  for (const j of jobs) verifyOracleSignature(j.digest, j.signature)
  const start = performance.now()
  let verified = 0
  for (const j of jobs) if (verifyOracleSignature(j.digest, j.signature).ok) verified++
  return { verified, ms: performance.now() - start }
}

if (parentPort !== null) {
  const jobs = workerData as VerifyJob[]
  const port = parentPort
  // Start together: wait for the go.
  port.once('message', () => port.postMessage(verifyJobs(jobs)))
  port.postMessage('ready')
}
