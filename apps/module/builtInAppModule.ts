import { readFileSync } from 'node:fs'
import { type Hex } from 'viem'
import type { AppArtifact, AppModule, AppStateDescription, TermFlag } from '../types.ts'
import { ChanvmError } from '../../engine/errors.ts'
import { appModuleFromManifest } from './appModuleFromManifest.ts'
import { artifactFromJson } from './artifactFromJson.ts'

/**
 * A built-in app: the `manifest.json` of its folder (`manifestUrl`) and its compiled contract as the
 * build generates it, loaded through the same path as a user's app. The manifest's `artifact` names
 * the folder's Solidity file and `contract` the contract in it; `npm run build` compiles it into the
 * folder's `generated/<contract>.ts`, which the folder's module imports. `describeState` and
 * `checkInitial` let the folder show its state in words and refuse terms the ABI types allow but
 * the app does not (a quorum above the number of oracles); `termFlags` are its `chanvm open` flags.
 *
 * @example
 * ```ts
 * export const escrowModule = builtInAppModule({
 *   manifestUrl: new URL('./manifest.json', import.meta.url), contract: Escrow, describeState })
 * ```
 */
export function builtInAppModule(opts: {
  manifestUrl: URL
  contract: { contractName: string; abi: readonly unknown[]; bytecode: Hex; deployedBytecode: Hex }
  describeState?: (appData: Hex) => AppStateDescription
  checkInitial?: (appData: Hex) => void
  /** The flags `chanvm open` takes for its terms; each must name one of the manifest's terms. */
  termFlags?: readonly TermFlag[]
}): AppModule {
  const c = opts.contract
  const artifact: AppArtifact = artifactFromJson(
    { abi: c.abi, bytecode: { object: c.bytecode }, deployedBytecode: { object: c.deployedBytecode } },
    { source: c.contractName, contract: c.contractName },
  )
  const manifest = JSON.parse(readFileSync(opts.manifestUrl, 'utf8')) as unknown
  const base = appModuleFromManifest(manifest, artifact, `manifest ${opts.manifestUrl.pathname}`)
  const { checkInitial, describeState, termFlags } = opts
  for (const f of termFlags ?? [])
    if (!base.terms.some((t) => t.name === f.term))
      throw new ChanvmError(
        'CONFIG',
        `${base.name}: the flag --${f.flag} gives ${f.term}, which is not a term`,
      )
  return {
    ...base,
    ...(termFlags === undefined ? {} : { termFlags }),
    initialAppData(terms) {
      const data = base.initialAppData(terms)
      checkInitial?.(data)
      return data
    },
    ...(describeState === undefined
      ? {}
      : {
          describeState(appData: Hex): AppStateDescription {
            try {
              return describeState(appData)
            } catch {
              return { headline: 'the app data does not decode', fields: [] }
            }
          },
        }),
  }
}
