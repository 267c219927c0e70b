// Which held events a client that last saw event `lastId` gets back: a pure rule, no I/O.
import type { EventReplay, HeldEvent } from './types.ts'

/**
 * The events after `lastId` when the node still holds every one of them: `floor` is the lowest id
 * the node can still answer for (the oldest event held, or the first id of this run when nothing
 * was dropped) and `latest` the last id issued. An id below `floor - 1` (older than what is held,
 * e.g. from before a restart) or above `latest` (never issued by this node) is a gap: the client
 * gets `gap: true` and every event held, so it can rebuild what it shows.
 */
export function eventReplay(
  held: readonly HeldEvent[],
  lastId: number,
  floor: number,
  latest: number,
): EventReplay {
  if (lastId >= floor - 1 && lastId <= latest)
    return { gap: false, events: held.filter((h) => h.id > lastId) }
  return { gap: true, requested: lastId, oldest: floor, latest, events: [...held] }
}
