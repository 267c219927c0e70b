import { readFile } from 'node:fs/promises'
import { ChanvmError } from '../engine/errors.ts'
import { loadNodeConfig } from './config.ts'
import { checkApiAccess } from './http/authorizeRequest.ts'
import { PASSPHRASE_ENV, readKeystore } from './keystore.ts'

/**
 * What `chanvm node --config FILE --check` checks, without starting anything: the file against
 * the schema, the keystore (decrypted when `CHANVM_PASSPHRASE` is set, else read as a V3 keystore),
 * the variables the file names (`broker.passwordEnv`, `http.tokenEnv`) and the API access rule (a
 * host other than loopback needs a token of at least 16 characters). It does not reach the chain
 * or the broker. Resolves with one line per thing checked; a problem is a `CONFIG` (or
 * `WRONG_PASSPHRASE`) error naming it.
 *
 * @example
 * ```ts
 * for (const line of await checkNodeConfig('node.json', process.env)) console.log(line)
 * ```
 */
export async function checkNodeConfig(path: string, env: Readonly<NodeJS.ProcessEnv>): Promise<string[]> {
  const config = await loadNodeConfig(path)
  const lines = [`${path}: every setting is known and valid`]
  const passphrase = env[PASSPHRASE_ENV]
  if (passphrase !== undefined && passphrase !== '') {
    const signer = await readKeystore(config.keystore, passphrase)
    lines.push(`keystore ${config.keystore} opens with ${PASSPHRASE_ENV}: address ${signer.address}`)
  } else {
    let parsed: { crypto?: unknown; Crypto?: unknown; version?: unknown }
    try {
      parsed = JSON.parse(await readFile(config.keystore, 'utf8')) as typeof parsed
    } catch (cause) {
      throw new ChanvmError('CONFIG', `cannot read the keystore ${config.keystore} as JSON`, { cause })
    }
    if (parsed.version !== 3 || (parsed.crypto ?? parsed.Crypto) === undefined)
      throw new ChanvmError('CONFIG', `${config.keystore} is not a V3 keystore`)
    lines.push(
      `keystore ${config.keystore} is a V3 keystore (set ${PASSPHRASE_ENV} to check the passphrase too)`,
    )
  }
  const passwordEnv = config.broker.passwordEnv
  if (passwordEnv !== undefined && (env[passwordEnv] ?? '') === '')
    throw new ChanvmError('CONFIG', `broker.passwordEnv names ${passwordEnv}, which is not set`)
  const host = config.http?.host ?? '127.0.0.1'
  const tokenEnv = config.http?.tokenEnv ?? 'CHANVM_API_TOKEN'
  const token = env[tokenEnv] === '' ? undefined : env[tokenEnv]
  checkApiAccess(host, token)
  lines.push(
    `api ${host}:${config.http?.port ?? 7311} ${token === undefined ? 'without a token (loopback only)' : `with the token in ${tokenEnv}`}`,
  )
  lines.push('not checked: that the chain and the broker answer (the node checks them when it starts)')
  return lines
}
