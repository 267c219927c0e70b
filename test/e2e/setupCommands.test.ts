// chanvm key new and chanvm deploy in process: what they refuse, and that a keystore holds the key
// it says. A deployment to a real chain is run by test/e2e/twoNodes.test.ts and walkthrough.test.ts.
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generatePrivateKey, privateKeyToAddress } from 'viem/accounts'
import { runDeployCommand } from '../../cli/commands/deploy.ts'
import { runKeyNewCommand } from '../../cli/commands/keyNew.ts'
import { decryptKeystore } from '../../node/keystore.ts'
import { createTestIo } from '../cli/support.ts'

const quiet = { out: () => undefined, err: () => undefined }

describe('chanvm key new and chanvm deploy', function () {
  this.timeout(120_000)
  let dir: string
  before(() => (dir = mkdtempSync(join(tmpdir(), 'chanvm-setup-'))))
  after(() => rmSync(dir, { recursive: true, force: true }))

  it('key new --private-key-env: a 0600 V3 keystore that the passphrase opens to that key', async () => {
    const key = generatePrivateKey()
    const out = join(dir, 'imported.json')
    const io = createTestIo({ env: { CHANVM_PASSPHRASE: 'pw one', K: key } })
    const code = await runKeyNewCommand(
      ['new', '--out', out, '--private-key-env', 'K', '--json'],
      quiet,
      undefined,
      io,
    )
    assert.equal(code, 0, io.stderr.join('\n'))
    assert.deepEqual(io.json(), { address: privateKeyToAddress(key), keystore: out })
    assert.equal(statSync(out).mode & 0o777, 0o600)
    assert.equal(await decryptKeystore(readFileSync(out, 'utf8'), 'pw one'), key)
    await assert.rejects(decryptKeystore(readFileSync(out, 'utf8'), 'pw two'), { code: 'WRONG_PASSPHRASE' })
  })

  it('key new without a key: a new random key each time, its address printed', async () => {
    const addresses: string[] = []
    for (const name of ['r1.json', 'r2.json']) {
      const io = createTestIo({ env: { CHANVM_PASSPHRASE: 'pw' } })
      assert.equal(await runKeyNewCommand(['new', '--out', join(dir, name)], quiet, undefined, io), 0)
      const key = await decryptKeystore(readFileSync(join(dir, name), 'utf8'), 'pw')
      assert.deepEqual(io.stdout, [privateKeyToAddress(key)])
      addresses.push(io.stdout[0]!)
    }
    assert.notEqual(addresses[0], addresses[1])
  })

  it('key new refuses an existing file (3, untouched), no passphrase (3), a bad key or usage (2): nothing written', async () => {
    const existing = join(dir, 'existing.json')
    writeFileSync(existing, 'keep me')
    const io = createTestIo({ env: { CHANVM_PASSPHRASE: 'pw' } })
    assert.equal(await runKeyNewCommand(['new', '--out', existing], quiet, undefined, io), 3)
    assert.match(io.stderr.join('\n'), /exists already/)
    assert.equal(readFileSync(existing, 'utf8'), 'keep me')

    const noPass = createTestIo({ env: {}, isTTY: false })
    const fresh = join(dir, 'fresh.json')
    assert.equal(await runKeyNewCommand(['new', '--out', fresh], quiet, undefined, noPass), 3)
    assert.match(noPass.stderr.join('\n'), /no passphrase: set CHANVM_PASSPHRASE/)

    const cases: [string[], Record<string, string>, RegExp][] = [
      [['new', '--out', fresh, '--private-key-env', 'K'], { K: '0x1234' }, /K must hold a private key/],
      [['new', '--out', fresh, '--private-key-env', 'K'], {}, /K is not set/],
      [['new', '--out', fresh, '--private-key-env', 'not a name'], {}, /name of an environment variable/],
      [['new'], {}, /--out FILE is required/],
      [['old', '--out', fresh], {}, /unknown subcommand 'old'/],
      [[], {}, /key needs a subcommand: new/],
    ]
    for (const [args, env, message] of cases) {
      const bad = createTestIo({ env: { CHANVM_PASSPHRASE: 'pw', ...env } })
      assert.equal(await runKeyNewCommand(args, quiet, undefined, bad), 2, args.join(' '))
      assert.match(bad.stderr.join('\n'), message)
    }
    assert.equal(existsSync(fresh), false)
    const help = createTestIo()
    assert.equal(await runKeyNewCommand(['--help'], quiet, undefined, help), 0)
    assert.match(help.stdout.join('\n'), /^Usage: chanvm key new --out FILE/)
  })

  it('any key new or deploy command line without a passphrase or a chain fails with a reason, writing nothing (property)', async () => {
    const sandbox = mkdtempSync(join(dir, 'prop-'))
    const token = fc.oneof(
      fc.constantFrom(
        'new',
        'old',
        '--out',
        join(sandbox, 'k.json'),
        '--private-key-env',
        'K',
        'D',
        '--json',
      ),
      fc.constantFrom('--rpc-url', 'http://127.0.0.1:1', 'ftp://x', '--help', '-h', '=', ''),
      fc.string({ maxLength: 12 }),
    )
    const env = { K: generatePrivateKey(), D: generatePrivateKey(), CHANVM_DEPLOYER_KEY: 'not a key' }
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(runKeyNewCommand, runDeployCommand),
        fc.array(token, { maxLength: 7 }),
        async (command, args) => {
          const io = createTestIo({ env, isTTY: false })
          const code = await command(args, quiet, undefined, io)
          const help = args.includes('--help') || args.includes('-h')
          if (code === 0) assert.ok(help, `exit 0 for ${JSON.stringify(args)}`)
          else {
            assert.ok([2, 3].includes(code), `exit ${code} for ${JSON.stringify(args)}`)
            assert.ok(io.stderr.length > 0)
            if (command === runDeployCommand || args.includes('--json')) {
              const doc = JSON.parse(io.stdout.at(-1) ?? '{}') as { error?: { code?: string } }
              assert.equal(typeof doc.error?.code, 'string', JSON.stringify(args))
            }
          }
          assert.deepEqual(readdirSync(sandbox), [])
        },
      ),
      { numRuns: 200 },
    )
  })

  it('deploy refuses a missing or bad key and a bad URL (2), an unreachable chain (3), each with a JSON error', async () => {
    const key = generatePrivateKey()
    const cases: [string[], Record<string, string>, number, string, RegExp][] = [
      [['--rpc-url', 'http://127.0.0.1:1'], {}, 2, 'USAGE', /CHANVM_DEPLOYER_KEY is not set/],
      [
        ['--rpc-url', 'http://127.0.0.1:1'],
        { CHANVM_DEPLOYER_KEY: 'nope' },
        2,
        'USAGE',
        /must hold a private key/,
      ],
      [['--rpc-url', 'ftp://x'], { CHANVM_DEPLOYER_KEY: key }, 2, 'USAGE', /http:\/\/ or https:\/\//],
      [[], { CHANVM_DEPLOYER_KEY: key }, 2, 'USAGE', /--rpc-url URL is required/],
      [['--rpc-url', 'http://127.0.0.1:1', '--private-key-env', 'D'], {}, 2, 'USAGE', /D is not set/],
      [['--rpc-url', 'http://127.0.0.1:1'], { CHANVM_DEPLOYER_KEY: key }, 3, 'CHAIN_ERROR', /cannot reach/],
    ]
    for (const [args, env, exit, code, message] of cases) {
      const io = createTestIo({ env })
      assert.equal(await runDeployCommand(args, quiet, undefined, io), exit, args.join(' '))
      const doc = io.json() as { error: { code: string; message: string } }
      assert.equal(doc.error.code, code)
      assert.match(doc.error.message, message)
    }
  })
})
