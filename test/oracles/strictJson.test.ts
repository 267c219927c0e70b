import { strict as assert } from 'node:assert'
import fc from 'fast-check'
import { parseStrictJson } from '../../oracles/mqtt/parseStrictJson.ts'

/** Whether `JSON.parse` accepts `text`. */
const parses = (text: string): boolean => {
  try {
    JSON.parse(text)
    return true
  } catch {
    return false
  }
}
/** A key spelled with every character escaped as \uXXXX. */
const escaped = (key: string) =>
  '"' + [...key].map((c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0')).join('') + '"'

describe('strict JSON: duplicate keys are refused at any depth', function () {
  const refused: [string, RegExp][] = [
    ['{"a":1,"a":2}', /duplicate key "a" at offset 7/],
    ['{"a":1,"a":1}', /duplicate key "a"/],
    ['{"a":1,"\\u0061":2}', /duplicate key "a" at offset 7/],
    ['{"\\u0061":1,"a":2}', /duplicate key "a"/],
    ['{"a\\"b":1,"a\\u0022b":2}', /duplicate key "a\\"b"/],
    ['{"\\/":1,"/":2}', /duplicate key "\/"/],
    ['{"\\ud83d\\ude00":1,"😀":2}', /duplicate key "😀"/],
    ['{"x":{"y":[{"z":1,"z":2}]}}', /duplicate key "z" at offset 18/],
    ['[1,{"k":{},"k":[]}]', /duplicate key "k"/],
    ['{"a":{"b":1},"c":{"b":2},"c":3}', /duplicate key "c"/],
    ['{"":1,"":2}', /duplicate key ""/],
    ['{"__proto__":1,"__proto__":2}', /duplicate key "__proto__"/],
  ]
  for (const [text, reason] of refused)
    it(`refuses ${text}`, () => {
      assert.equal(parses(text), true, 'JSON.parse takes it (last one wins)')
      const r = parseStrictJson(text)
      assert.ok(!r.ok)
      assert.match(r.reason, reason)
    })

  it('the same key in different objects, and a key that differs only by case or escaping of another character, are fine', () => {
    for (const text of [
      '{"a":{"a":{"a":1}},"b":{"a":2}}',
      '[{"a":1},{"a":2}]',
      '{"a":1,"A":2,"\\u0062":3}',
      '{"a\\\\":1,"a":2}',
      '{"é":1,"e\\u0301":2}',
    ]) {
      const r = parseStrictJson(text)
      assert.ok(r.ok, text)
      assert.deepEqual(r.value, JSON.parse(text))
    }
  })

  it('refuses what JSON.parse refuses, with the offset', () => {
    for (const [text, reason] of [
      ['', /unexpected end at offset 0/],
      ['{', /expected a key at offset 1/],
      ['{"a" 1}', /expected : at offset 5/],
      ['{"a":1,}', /expected a key at offset 7/],
      ['[1,]', /unexpected character at offset 3/],
      ['01', /text after the value at offset 1/],
      ['"\u0001"', /control character/],
      ['"\\x"', /bad escape/],
      ['"\\u12g4"', /bad \\u escape/],
      ['"abc', /unterminated string/],
      ['tru', /unexpected character/],
      ['{} {}', /text after the value/],
      ['\ufeff{}', /unexpected character at offset 0/],
    ] as const) {
      assert.equal(parses(text), false, text)
      const r = parseStrictJson(text)
      assert.ok(!r.ok, text)
      assert.match(r.reason, reason)
    }
  })

  it('refuses nesting deeper than maxDepth without recursion', () => {
    assert.ok(parseStrictJson('[[[1]]]', { maxDepth: 3 }).ok)
    const r = parseStrictJson('[[[[1]]]]', { maxDepth: 3 })
    assert.ok(!r.ok && /nesting deeper than 3 at offset 3/.test(r.reason))
    const deep = '['.repeat(100_000) + ']'.repeat(100_000)
    const d = parseStrictJson(deep, { maxDepth: 200_000 })
    assert.equal(d.ok, parses(deep))
  })

  it('any JSON value without duplicate keys parses to what JSON.parse gives, however it is spaced', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.constantFrom(undefined, 1, '\t', ' \r\n'), (value, space) => {
        const text = JSON.stringify(value, null, space)
        const r = parseStrictJson(text, { maxDepth: 1000 })
        return r.ok && JSON.stringify(r.value) === JSON.stringify(JSON.parse(text))
      }),
      { numRuns: 2_000, seed: 21 },
    )
  })

  it('a key repeated in any object, plain or escaped, is refused', () => {
    fc.assert(
      fc.property(
        fc.dictionary(fc.string({ maxLength: 6 }), fc.jsonValue({ maxDepth: 2 }), { minKeys: 1, maxKeys: 5 }),
        fc.nat(),
        fc.boolean(),
        fc.array(fc.constantFrom('obj', 'arr'), { maxLength: 4 }),
        (dict, pick, escape, path) => {
          const keys = Object.keys(dict)
          const key = keys[pick % keys.length] ?? ''
          const inner = JSON.stringify(dict).slice(0, -1)
          const sep = inner.length > 1 ? ',' : ''
          let text = `${inner}${sep}${escape ? escaped(key) : JSON.stringify(key)}:null}`
          for (const p of path) text = p === 'obj' ? `{"k":${text}}` : `[0,${text}]`
          const r = parseStrictJson(text)
          return parses(text) && !r.ok && r.reason.startsWith('duplicate key')
        },
      ),
      { numRuns: 2_000, seed: 22 },
    )
  })

  it('random text: accepted only when JSON.parse accepts it, and then to the same value', () => {
    const jsonish = fc.string({
      unit: fc.constantFrom(
        '{',
        '}',
        '[',
        ']',
        ',',
        ':',
        '"',
        '\\',
        'u',
        '0',
        '1',
        'a',
        'e',
        '-',
        '.',
        ' ',
        'true',
        'null',
      ),
      maxLength: 30,
    })
    fc.assert(
      fc.property(fc.oneof(jsonish, fc.string({ maxLength: 30 })), (text) => {
        const r = parseStrictJson(text)
        if (!parses(text)) return !r.ok
        return !r.ok
          ? /duplicate key/.test(r.reason)
          : JSON.stringify(r.value) === JSON.stringify(JSON.parse(text))
      }),
      { numRuns: 20_000, seed: 23 },
    )
  })
})
