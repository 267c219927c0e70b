/**
 * Regenerates `oracles/message/vectors.json` from `createTestVectors()`:
 *
 *   npx tsx oracles/message/writeTestVectors.ts
 */
import { writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { createTestVectors } from './createTestVectors.ts'

const path = fileURLToPath(new URL('./vectors.json', import.meta.url))
writeFileSync(path, JSON.stringify(createTestVectors(), null, 2) + '\n')
process.stdout.write(`wrote ${path}\n`)
