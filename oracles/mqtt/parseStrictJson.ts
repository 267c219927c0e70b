/** The verdict of {@link parseStrictJson}: the value, or why the text is refused. */
export type StrictJsonVerdict = { ok: true; value: unknown } | { ok: false; reason: string }

/** Options of {@link parseStrictJson}. */
export type StrictJsonOptions = {
  /** Deepest nesting of objects and arrays accepted. Default 64. */
  maxDepth?: number
}

const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y
const ESCAPES = new Set(['"', '\\', '/', 'b', 'f', 'n', 'r', 't'])
const HEX4 = /^[0-9a-fA-F]{4}$/

/**
 * Parses one JSON text (RFC 8259) like `JSON.parse`, but refuses an object that names a key twice,
 * at any depth. Keys are compared after decoding their escapes, so `{"a":1,"\u0061":2}` is refused
 * (where `JSON.parse` silently keeps the last one). The text is checked in one pass over the raw
 * characters (no recursion, so no depth can overflow the stack), then handed to `JSON.parse`.
 * Never throws.
 *
 * @example
 * ```ts
 * const r = parseStrictJson('{"a":1,"a":2}')
 * if (!r.ok) console.log(r.reason) // duplicate key "a" at offset 7
 * ```
 */
export function parseStrictJson(text: string, options: StrictJsonOptions = {}): StrictJsonVerdict {
  const maxDepth = options.maxDepth ?? 64
  const n = text.length
  let i = 0
  // One entry per open container: the keys seen so far for an object, `null` for an array.
  const stack: (Set<string> | null)[] = []
  const fail = (what: string): StrictJsonVerdict => ({ ok: false, reason: `${what} at offset ${i}` })

  const skipSpace = () => {
    while (i < n) {
      const c = text.charCodeAt(i)
      if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) return
      i++
    }
  }
  // Scans the string token at `i` (an opening quote) and returns it raw, quotes included.
  const scanString = (): string | { error: string } => {
    const start = i
    i++
    while (i < n) {
      const c = text.charCodeAt(i)
      if (c === 0x22) {
        i++
        return text.slice(start, i)
      }
      if (c < 0x20) return { error: 'control character in a string' }
      if (c === 0x5c) {
        const e = text[i + 1]
        if (e === 'u') {
          if (!HEX4.test(text.slice(i + 2, i + 6))) return { error: 'bad \\u escape' }
          i += 6
        } else if (e !== undefined && ESCAPES.has(e)) i += 2
        else return { error: 'bad escape' }
      } else i++
    }
    return { error: 'unterminated string' }
  }

  let mode: 'value' | 'after' | 'key' = 'value'
  for (;;) {
    if (mode === 'value') {
      skipSpace()
      const c = text[i]
      if (c === '{' || c === '[') {
        if (stack.length >= maxDepth) return fail(`nesting deeper than ${maxDepth}`)
        i++
        skipSpace()
        if (text[i] === (c === '{' ? '}' : ']')) {
          i++
          mode = 'after'
        } else {
          stack.push(c === '{' ? new Set() : null)
          mode = c === '{' ? 'key' : 'value'
        }
        continue
      }
      if (c === '"') {
        const s = scanString()
        if (typeof s !== 'string') return fail(s.error)
      } else if (c === 't' || c === 'f' || c === 'n') {
        const word = c === 't' ? 'true' : c === 'f' ? 'false' : 'null'
        if (text.slice(i, i + word.length) !== word) return fail('unexpected character')
        i += word.length
      } else {
        NUMBER.lastIndex = i
        if (!NUMBER.test(text)) return fail(i >= n ? 'unexpected end' : 'unexpected character')
        i = NUMBER.lastIndex
      }
      mode = 'after'
    } else if (mode === 'after') {
      skipSpace()
      if (stack.length === 0) {
        if (i !== n) return fail('text after the value')
        break
      }
      const top = stack[stack.length - 1]
      const c = text[i]
      if (c === ',') {
        i++
        mode = top instanceof Set ? 'key' : 'value'
      } else if (c === (top instanceof Set ? '}' : ']')) {
        i++
        stack.pop()
      } else return fail(i >= n ? 'unexpected end' : 'expected , or a closing bracket')
    } else {
      skipSpace()
      if (text[i] !== '"') return fail('expected a key')
      const at = i
      const raw = scanString()
      if (typeof raw !== 'string') return fail(raw.error)
      const key = raw.includes('\\') ? (JSON.parse(raw) as string) : raw.slice(1, -1)
      const keys = stack[stack.length - 1] as Set<string>
      if (keys.has(key)) {
        i = at
        return fail(`duplicate key ${JSON.stringify(key.length > 40 ? key.slice(0, 40) + '…' : key)}`)
      }
      keys.add(key)
      skipSpace()
      if (text[i] !== ':') return fail('expected :')
      i++
      mode = 'value'
    }
  }
  try {
    return { ok: true, value: JSON.parse(text) }
  } catch (e) {
    // Not reached: the scan accepts exactly JSON's grammar.
    return { ok: false, reason: (e as Error).message }
  }
}
