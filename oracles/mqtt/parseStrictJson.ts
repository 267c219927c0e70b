/** The verdict of {@link parseStrictJson}: the value, or why the text is refused. */
export type StrictJsonVerdict = { ok: true; value: unknown } | { ok: false; reason: string }

/** Options of {@link parseStrictJson}. */
export type StrictJsonOptions = {
  /** Deepest nesting of objects and arrays accepted. Default 64. */
  maxDepth?: number
}

const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y
/** The characters after a backslash that make an escape, `u` aside: " \\ / b f n r t. */
const ESCAPES = new Set([0x22, 0x5c, 0x2f, 0x62, 0x66, 0x6e, 0x72, 0x74])
/** What the scanner expects next. */
const VALUE = 0
const AFTER = 1
const KEY = 2
const HEX4 = /^[0-9a-fA-F]{4}$/

/** The index after the spaces at `i`. */
function skipSpace(text: string, i: number): number {
  const n = text.length
  while (i < n) {
    const c = text.charCodeAt(i)
    if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) return i
    i++
  }
  return i
}

/** Why a string token is refused, by the code `scanString` returns (-1 for the first). */
const STRING_ERRORS = ['control character in a string', 'bad \\u escape', 'bad escape', 'unterminated string']
/** Where `scanString` found the error it returned. */
let stringErrorAt = 0

/**
 * Scans the string token at `i` (an opening quote) and returns the index after its closing quote,
 * or a negative code of {@link STRING_ERRORS} with the error's place in `stringErrorAt`. Escapes
 * are checked, not decoded (a key with one is decoded by `JSON.parse`).
 */
function scanString(text: string, i: number): number {
  const n = text.length
  i++
  while (i < n) {
    const c = text.charCodeAt(i)
    if (c === 0x22) return i + 1
    if (c === 0x5c) {
      const e = text.charCodeAt(i + 1)
      if (e === 0x75 && HEX4.test(text.slice(i + 2, i + 6))) i += 6
      else if (e !== 0x75 && ESCAPES.has(e)) i += 2
      else {
        stringErrorAt = i
        return e === 0x75 ? -2 : -3
      }
    } else if (c < 0x20) {
      stringErrorAt = i
      return -1
    } else i++
  }
  stringErrorAt = n
  return -4
}

/**
 * A refusal of the text at offset `at`. (Module-level functions, not closures in the parser: with
 * esbuild's keepNames, as tsx and the command's bundle run, each closure made per call is named
 * per call too, which cost the parser about a fifth of its time.)
 */
function refuse(what: string, at: number): StrictJsonVerdict {
  return { ok: false, reason: `${what} at offset ${at}` }
}

/** A string's error (`code` from {@link scanString}), where it was found. */
function refuseString(code: number): StrictJsonVerdict {
  return refuse(STRING_ERRORS[-code - 1] as string, stringErrorAt)
}

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

  let mode = VALUE
  for (;;) {
    if (mode === VALUE) {
      i = skipSpace(text, i)
      const c = text.charCodeAt(i)
      if (c === 0x7b || c === 0x5b) {
        if (stack.length >= maxDepth) return refuse(`nesting deeper than ${maxDepth}`, i)
        i++
        i = skipSpace(text, i)
        if (text.charCodeAt(i) === (c === 0x7b ? 0x7d : 0x5d)) {
          i++
          mode = AFTER
        } else {
          stack.push(c === 0x7b ? new Set() : null)
          mode = c === 0x7b ? KEY : VALUE
        }
        continue
      }
      if (c === 0x22) {
        i = scanString(text, i)
        if (i < 0) return refuseString(i)
      } else if (c === 0x74 || c === 0x66 || c === 0x6e) {
        const word = c === 0x74 ? 'true' : c === 0x66 ? 'false' : 'null'
        if (!text.startsWith(word, i)) return refuse('unexpected character', i)
        i += word.length
      } else {
        NUMBER.lastIndex = i
        if (!NUMBER.test(text)) return refuse(i >= n ? 'unexpected end' : 'unexpected character', i)
        i = NUMBER.lastIndex
      }
      mode = AFTER
    } else if (mode === AFTER) {
      i = skipSpace(text, i)
      if (stack.length === 0) {
        if (i !== n) return refuse('text after the value', i)
        break
      }
      const inObject = stack[stack.length - 1] instanceof Set
      const c = text.charCodeAt(i)
      if (c === 0x2c) {
        i++
        mode = inObject ? KEY : VALUE
      } else if (c === (inObject ? 0x7d : 0x5d)) {
        i++
        stack.pop()
      } else return refuse(i >= n ? 'unexpected end' : 'expected , or a closing bracket', i)
    } else {
      i = skipSpace(text, i)
      if (text.charCodeAt(i) !== 0x22) return refuse('expected a key', i)
      const at = i
      i = scanString(text, i)
      if (i < 0) return refuseString(i)
      const raw = text.slice(at + 1, i - 1)
      const key = raw.includes('\\') ? (JSON.parse(text.slice(at, i)) as string) : raw
      const keys = stack[stack.length - 1] as Set<string>
      if (keys.has(key)) {
        return refuse(`duplicate key ${JSON.stringify(key.length > 40 ? key.slice(0, 40) + '…' : key)}`, at)
      }
      keys.add(key)
      i = skipSpace(text, i)
      if (text.charCodeAt(i) !== 0x3a) return refuse('expected :', i)
      i++
      mode = VALUE
    }
  }
  try {
    return { ok: true, value: JSON.parse(text) }
  } catch (e) {
    // Not reached: the scan accepts exactly JSON's grammar.
    return { ok: false, reason: (e as Error).message }
  }
}
