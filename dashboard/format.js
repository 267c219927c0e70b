// How the page writes amounts, times, roles and ids.

// Each app's role names, as the node's channel summaries give them (`roles`, from the app's module).
const ROLES = new Map()

/** Keeps the role names a channel summary carries, for {@link roleName}. */
export function rememberRoles(summary) {
  if (Array.isArray(summary?.roles) && summary.roles.length === 2) ROLES.set(summary.app, summary.roles)
}

/** The role name of participant `index` in `app` (`participant N` until a summary named them). */
export function roleName(app, index) {
  return ROLES.get(app)?.[index] ?? `participant ${index}`
}

/** A decimal wei string as ETH (`0.25 ETH`), small amounts in wei. */
export function formatWei(wei) {
  const n = BigInt(wei)
  if (n !== 0n && n < 1_000_000_000n) return `${n} wei`
  const whole = n / 10n ** 18n
  const frac = (n % 10n ** 18n).toString().padStart(18, '0').replace(/0+$/, '')
  return `${whole}${frac === '' ? '' : '.' + frac.slice(0, 6)} ETH`
}

/** A gas amount with thousands separators. */
export function formatGas(gas) {
  return BigInt(gas).toLocaleString('en-US')
}

/** `0x1234…abcd`. */
export function short(hex, keep = 6) {
  if (typeof hex !== 'string' || hex.length <= keep * 2 + 3) return String(hex ?? '')
  return `${hex.slice(0, keep + 2)}…${hex.slice(-keep)}`
}

/** A unix time in seconds (string or number) as `2026-12-06 10:31:05 UTC`. */
export function formatUnix(seconds) {
  const n = Number(seconds)
  if (!Number.isFinite(n) || n === 0) return '—'
  return new Date(n * 1000)
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d{3}Z$/, ' UTC')
}

/** A local time in ms as `10:31:05`. */
export function formatClock(ms) {
  if (ms === undefined) return '—'
  return new Date(ms).toISOString().slice(11, 19)
}

/** A duration in seconds as `1 h 02 min 05 s`. */
export function formatDuration(seconds) {
  let s = Math.max(0, Math.floor(Number(seconds)))
  const h = Math.floor(s / 3600)
  s -= h * 3600
  const m = Math.floor(s / 60)
  s -= m * 60
  if (h > 0) return `${h} h ${String(m).padStart(2, '0')} min ${String(s).padStart(2, '0')} s`
  if (m > 0) return `${m} min ${String(s).padStart(2, '0')} s`
  return `${s} s`
}

/** Builds an element: `h('a', { href: '#/' }, 'text', child)`; text is never parsed as HTML. */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag)
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === false) continue
    if (k === 'class') el.className = v
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v)
    else el.setAttribute(k, v === true ? '' : String(v))
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue
    el.append(c instanceof Node ? c : document.createTextNode(String(c)))
  }
  return el
}
