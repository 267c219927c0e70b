import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { pathToFileURL } from 'node:url'

type Analysis = { jumps: Uint8Array; pushes: Record<number, bigint>; opcodesCached: unknown[] }
type InterpreterProto = { _getValidJumpDestinations?: (code: Uint8Array) => Analysis; _evm?: object }

let installed: Promise<boolean> | undefined

/**
 * `@ethereumjs/evm` analyses a contract's code (jump destinations, push values, opcode table) on
 * every call: for a 3-6 KB app that is a sixth of a step. The analysis depends only on the code
 * bytes and the EVM's opcode table, so this caches it per EVM instance and per code array (the
 * sandbox's state manager returns the same array for the same code). Pure speed: a cached analysis
 * is the very object the interpreter would have computed. If the interpreter module cannot be
 * found (another version of the package), nothing is patched.
 */
export function cacheJumpAnalysis(): Promise<boolean> {
  installed ??= (async () => {
    try {
      const require = createRequire(import.meta.url)
      const cjsIndex = require.resolve('@ethereumjs/evm')
      const url = pathToFileURL(join(dirname(cjsIndex), '..', 'esm', 'interpreter.js')).href
      const mod = (await import(url)) as { Interpreter?: { prototype: InterpreterProto } }
      const proto = mod.Interpreter?.prototype
      const original = proto?._getValidJumpDestinations
      if (proto === undefined || original === undefined) return false
      const cache = new WeakMap<object, WeakMap<Uint8Array, Analysis>>()
      proto._getValidJumpDestinations = function (this: InterpreterProto, code: Uint8Array) {
        const evm = this._evm
        if (evm === undefined) return original.call(this, code)
        let perEvm = cache.get(evm)
        if (perEvm === undefined) cache.set(evm, (perEvm = new WeakMap()))
        let a = perEvm.get(code)
        if (a === undefined) perEvm.set(code, (a = original.call(this, code)))
        return a
      }
      return true
    } catch {
      return false
    }
  })()
  return installed
}
