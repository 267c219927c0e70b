// Outside apps/, production code names no app: the node, the API, the commands, the oracles and the
// engine reach apps through the registry. Comments and examples in TSDoc may name one (they show a
// use); code may not. The files that still do are listed here, so a new one fails this test and a
// listed one that no longer names an app must leave the list.
import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { BUILT_IN_APPS } from '../../apps/builtInApps.ts'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const SCANNED = ['engine', 'node', 'cli', 'oracles', 'bench', 'dashboard']

/** Files that still name an app in code, each with what is left to move into its app's folder. */
const NOT_YET: Record<string, string> = {}

function sources(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name)
    if (e.isDirectory()) return sources(p)
    return /\.(ts|mjs|js)$/.test(e.name) ? [p] : []
  })
}

/** The code of a file without its comments (line and block comments; strings are kept). */
function codeOf(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`\\])\/\/.*$/gm, '$1')
}

/** The words that name a built-in app: its name as a string, its contract, its folder's client. */
function appPattern(): RegExp {
  const words = BUILT_IN_APPS.flatMap((a) => [`['"\`]${a.name}['"\`]`, `\\b${a.artifact.contractName}\\b`])
  const folders = readdirSync(join(ROOT, 'apps'), { withFileTypes: true })
    .filter((e) => e.isDirectory() && e.name !== 'module')
    .map((e) => `apps/${e.name}/`)
  return new RegExp([...words, ...folders].join('|'))
}

describe('apps: no production file outside apps/ names an app', () => {
  const pattern = appPattern()
  const naming = SCANNED.flatMap(sources)
    .filter((f) => pattern.test(codeOf(readFileSync(join(ROOT, f), 'utf8'))))
    .map((f) => relative('.', f))
    .sort()

  it('the pattern finds an app named in code, and not in a comment', () => {
    assert.ok(pattern.test(codeOf("const app = 'escrow'")))
    assert.ok(pattern.test(codeOf("import { x } from '../apps/coldChain/coldChainClient.ts'")))
    assert.ok(!pattern.test(codeOf("// open({ app: 'escrow' })\n/** TvDelivery: the price */\nconst a = 1")))
  })

  it('node/, oracles/ and engine/ name no app, and the remaining files are the listed ones', () => {
    const unexpected = naming.filter((f) => !Object.hasOwn(NOT_YET, f))
    assert.deepEqual(unexpected, [], 'these files name an app: reach it through the registry (apps/)')
    const cleared = Object.keys(NOT_YET).filter((f) => !naming.includes(f))
    assert.deepEqual(cleared, [], 'these files no longer name an app: take them off NOT_YET')
  })
})
