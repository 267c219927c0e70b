import { strict as assert } from 'node:assert'
import fc from 'fast-check'
import { createOldestEvictor } from '../../oracles/message/createOldestEvictor.ts'

describe('createOldestEvictor: the eviction of the bounded caches and memories of ingestion', function () {
  it('deletes and returns the oldest key; a key set again counts from then; an empty map gives undefined', () => {
    const map = new Map<string, number>()
    const evict = createOldestEvictor(map)
    assert.equal(evict(), undefined)
    // The iterator that found the map empty is done for good: keys set afterwards are still found.
    map.set('a', 1).set('b', 2).set('c', 3)
    map.delete('a')
    map.set('a', 1)
    assert.equal(evict(), 'b')
    map.delete('c')
    assert.equal(evict(), 'a')
    assert.equal(evict(), undefined)
    map.set('d', 4)
    assert.equal(evict(), 'd')
    assert.equal(map.size, 0)
  })

  it('any sequence of sets, deletes, re-sets and evictions agrees with a list kept in insertion order', () => {
    const op = fc.oneof(
      fc.record({ op: fc.constant('set' as const), key: fc.nat(20) }),
      fc.record({ op: fc.constant('delete' as const), key: fc.nat(20) }),
      fc.record({ op: fc.constant('evict' as const) }),
    )
    fc.assert(
      fc.property(fc.array(op, { maxLength: 300 }), (ops) => {
        const map = new Map<number, true>()
        const evict = createOldestEvictor(map)
        let model: number[] = []
        for (const o of ops) {
          if (o.op === 'set') {
            // A cache touching a key: deleted and set again, now the newest.
            map.delete(o.key)
            map.set(o.key, true)
            model = [...model.filter((k) => k !== o.key), o.key]
          } else if (o.op === 'delete') {
            map.delete(o.key)
            model = model.filter((k) => k !== o.key)
          } else {
            assert.equal(evict(), model.shift())
          }
          assert.deepEqual([...map.keys()], model)
        }
      }),
    )
  })
})
