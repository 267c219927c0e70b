import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import { keccak256, type Hex } from 'viem'
import { generatePrivateKey, privateKeyToAddress } from 'viem/accounts'
import { recoverDigestSigner } from '../../engine/crypto/recoverDigestSigner.ts'
import { ChanvmError } from '../../engine/errors.ts'
import {
  createKeystore,
  decryptKeystore,
  passphraseFromEnvOrPrompt,
  readKeystore,
} from '../../node/keystore.ts'

// The test vectors of the Web3 Secret Storage Definition (ethereum.org): password "testpassword".
const SPEC_KEY: Hex = '0x7a28b5ba57c53603b0b07b56bba752f7784bf506fa95edc395f5cf6c7514fe9d'
const SPEC_PBKDF2 = {
  crypto: {
    cipher: 'aes-128-ctr',
    cipherparams: { iv: '6087dab2f9fdbbfaddc31a909735c1e6' },
    ciphertext: '5318b4d5bcd28de64ee5559e671353e16f075ecae9f99c7a79a38af5f869aa46',
    kdf: 'pbkdf2',
    kdfparams: {
      c: 262144,
      dklen: 32,
      prf: 'hmac-sha256',
      salt: 'ae3cd4e7013836a3df6bd7241b12db061dbe2c6785853cce422d148a624ce0bd',
    },
    mac: '517ead924a9d0dc3124507e3393d175ce3ff7c1e96529c6c555ce9e51205e9b2',
  },
  id: '3198bc9c-6672-5ab3-d995-4942343ae5b6',
  version: 3,
}
const SPEC_SCRYPT = {
  crypto: {
    cipher: 'aes-128-ctr',
    cipherparams: { iv: '83dbcc02d8ccb40e466191a123791e0e' },
    ciphertext: 'd172bf743a674da9cdad04534d56926ef8358534d458fffccd4e6ad2fbde479c',
    kdf: 'scrypt',
    kdfparams: {
      dklen: 32,
      n: 262144,
      p: 8,
      r: 1,
      salt: 'ab0c7876052600dd703518d6fc3fe8984592145b591fc8fb5c6d43190334ba19',
    },
    mac: '2103ac29920d71da29f15d75b4a16dbe95cfd7ff8faea1056c33131d846e3097',
  },
  id: '3198bc9c-6672-5ab3-d995-4942343ae5b6',
  version: 3,
}

const code = async (p: Promise<unknown>): Promise<string> => {
  try {
    await p
  } catch (e) {
    assert(e instanceof ChanvmError, `expected a ChanvmError, got ${String(e)}`)
    return e.code
  }
  assert.fail('expected an error')
}

describe('node keystore', () => {
  let dir: string
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'chanvm-keystore-'))
  })
  after(() => rmSync(dir, { recursive: true, force: true }))

  it('round trip: a key written with a passphrase reads back as a signer of the same address', async () => {
    const key = generatePrivateKey()
    const json = await createKeystore(key, 'correct horse', { n: 1024 })
    const parsed = JSON.parse(json) as { version: number; crypto: { kdf: string; kdfparams: { n: number } } }
    assert.equal(parsed.version, 3)
    assert.equal(parsed.crypto.kdf, 'scrypt')
    assert.equal(parsed.crypto.kdfparams.n, 1024)
    assert(!json.includes(key.slice(2)), 'the key is not in the file in clear')
    const path = join(dir, 'key.json')
    writeFileSync(path, json)
    const signer = await readKeystore(path, 'correct horse')
    assert.equal(signer.address, privateKeyToAddress(key))
    const digest = keccak256('0x1234')
    const sig = await signer.signDigest(digest)
    assert.deepEqual(recoverDigestSigner(digest, sig), { ok: true, signer: signer.address.toLowerCase() })
  })

  it('the standard scrypt cost is the default', async () => {
    const json = await createKeystore(generatePrivateKey(), 'pw')
    assert.equal((JSON.parse(json) as { crypto: { kdfparams: { n: number } } }).crypto.kdfparams.n, 262144)
  })

  it('a wrong passphrase is WRONG_PASSPHRASE', async () => {
    const path = join(dir, 'wrong.json')
    writeFileSync(path, await createKeystore(generatePrivateKey(), 'right', { n: 1024 }))
    assert.equal(await code(readKeystore(path, 'wrong')), 'WRONG_PASSPHRASE')
  })

  it('a missing file, text that is not JSON and JSON that is not V3 are CONFIG errors', async () => {
    assert.equal(await code(readKeystore(join(dir, 'nope.json'), 'pw')), 'CONFIG')
    const bad = join(dir, 'bad.json')
    writeFileSync(bad, 'not json')
    assert.equal(await code(readKeystore(bad, 'pw')), 'CONFIG')
    writeFileSync(bad, JSON.stringify({ version: 1, crypto: {} }))
    assert.equal(await code(readKeystore(bad, 'pw')), 'CONFIG')
  })

  it('bad inputs to createKeystore are INVALID_ARGUMENT', async () => {
    assert.equal(await code(createKeystore('0x12', 'pw', { n: 1024 })), 'INVALID_ARGUMENT')
    assert.equal(await code(createKeystore(generatePrivateKey(), '', { n: 1024 })), 'INVALID_ARGUMENT')
    assert.equal(await code(createKeystore(generatePrivateKey(), 'pw', { n: 1000 })), 'INVALID_ARGUMENT')
  })

  it('the Web3 Secret Storage PBKDF2 test vector decrypts to its key', async () => {
    assert.equal(await decryptKeystore(JSON.stringify(SPEC_PBKDF2), 'testpassword'), SPEC_KEY)
  })

  it('the Web3 Secret Storage scrypt test vector decrypts to its key', async () => {
    assert.equal(await decryptKeystore(JSON.stringify(SPEC_SCRYPT), 'testpassword'), SPEC_KEY)
    assert.equal(await code(decryptKeystore(JSON.stringify(SPEC_SCRYPT), 'testpassw0rd')), 'WRONG_PASSPHRASE')
  })

  it('a keystore whose parameters it cannot have is CONFIG, before any key is derived', async () => {
    const withKdf = (kdfparams: object, extra: object = {}) =>
      JSON.stringify({ ...SPEC_SCRYPT, crypto: { ...SPEC_SCRYPT.crypto, kdfparams, ...extra } })
    const params = SPEC_SCRYPT.crypto.kdfparams
    // 128 · 2^30 · 8 bytes of scrypt memory: refused at once, not attempted.
    assert.equal(
      await code(decryptKeystore(withKdf({ ...params, n: 2 ** 30, r: 8 }), 'testpassword')),
      'CONFIG',
    )
    assert.equal(await code(decryptKeystore(withKdf({ ...params, n: 1000 }), 'testpassword')), 'CONFIG')
    assert.equal(await code(decryptKeystore(withKdf({ ...params, salt: 'zz' }), 'testpassword')), 'CONFIG')
    assert.equal(await code(decryptKeystore(withKdf(params, { kdf: 'argon2' }), 'testpassword')), 'CONFIG')
    assert.equal(
      await code(decryptKeystore(withKdf(params, { cipher: 'aes-256-gcm' }), 'testpassword')),
      'CONFIG',
    )
    assert.equal(await code(createKeystore(generatePrivateKey(), 'pw', { n: 2 ** 21 })), 'INVALID_ARGUMENT')
  })

  it('a ciphertext changed by one bit does not open: WRONG_PASSPHRASE, never another key', async () => {
    const json = JSON.parse(await createKeystore(generatePrivateKey(), 'pw', { n: 1024 })) as {
      crypto: { ciphertext: string }
    }
    const c = json.crypto.ciphertext
    json.crypto.ciphertext = (parseInt(c[0]!, 16) ^ 1).toString(16) + c.slice(1)
    assert.equal(await code(decryptKeystore(JSON.stringify(json), 'pw')), 'WRONG_PASSPHRASE')
  })

  it('what it writes is a V3 keystore: address, id, scrypt r = 8, p = 1, a 32-byte salt', async () => {
    const key = generatePrivateKey()
    const json = JSON.parse(await createKeystore(key, 'pw', { n: 1024 })) as {
      version: number
      address: string
      id: string
      crypto: { cipher: string; kdfparams: { salt: string } & Record<string, unknown> }
    }
    assert.equal(json.version, 3)
    assert.equal(`0x${json.address}`, privateKeyToAddress(key).toLowerCase())
    assert.match(json.id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
    assert.deepEqual(
      { ...json.crypto.kdfparams, salt: json.crypto.kdfparams.salt.length },
      { dklen: 32, n: 1024, p: 1, r: 8, salt: 64 },
    )
    assert.equal(json.crypto.cipher, 'aes-128-ctr')
    assert.equal(await decryptKeystore(JSON.stringify(json), 'pw'), key)
  })

  describe('passphraseFromEnvOrPrompt', () => {
    it('takes CHANVM_PASSPHRASE first', async () => {
      assert.equal(await passphraseFromEnvOrPrompt({ env: { CHANVM_PASSPHRASE: 's3cret' } }), 's3cret')
    })

    it('without the variable and without a terminal it is a CONFIG error naming the variable', async () => {
      const input = new PassThrough() as unknown as NodeJS.ReadStream
      const e = await passphraseFromEnvOrPrompt({ env: {}, input }).catch((x: unknown) => x)
      assert(e instanceof ChanvmError && e.code === 'CONFIG')
      assert.match(e.message, /CHANVM_PASSPHRASE/)
    })

    it('on a terminal it reads a line with echo off', async () => {
      const input = new PassThrough() as PassThrough & {
        isTTY: boolean
        isRaw: boolean
        setRawMode(m: boolean): void
      }
      const modes: boolean[] = []
      input.isTTY = true
      input.isRaw = false
      input.setRawMode = (m: boolean) => void modes.push(m)
      const out = new PassThrough()
      let echoed = ''
      out.on('data', (c: Buffer) => (echoed += c.toString()))
      const p = passphraseFromEnvOrPrompt({
        env: {},
        input: input as unknown as NodeJS.ReadStream,
        output: out,
      })
      input.write('hunt')
      input.write('xx\u007f\u007fer2\r')
      assert.equal(await p, 'hunter2')
      assert.deepEqual(modes, [true, false], 'raw mode on while typing, restored after')
      assert(!echoed.includes('hunt'), 'nothing typed is echoed')
    })
  })
})
