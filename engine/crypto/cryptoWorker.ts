/**
 * The entry of a crypto thread ({@link createCryptoPool}): signs and recovers the jobs of each
 * batch it is sent with the same functions the calling thread uses ({@link runCryptoJob}) and posts
 * the answers back, in the batch's order. Only a thread loads this file.
 */
import { parentPort } from 'node:worker_threads'
import {
  runCryptoJob,
  type CryptoBatch,
  type CryptoBatchResult,
  type CryptoClose,
  type CryptoThreadReady,
} from './cryptoJobs.ts'
import { secp256k1Backend } from './secp256k1Backend.ts'

const port = parentPort
if (port !== null) {
  port.on('message', (batch: CryptoBatch | CryptoClose) => {
    if ('close' in batch) return port.close()
    const answers = batch.jobs.map(runCryptoJob)
    port.postMessage({ id: batch.id, answers } satisfies CryptoBatchResult)
  })
  port.postMessage({ ready: secp256k1Backend.name } satisfies CryptoThreadReady)
}
