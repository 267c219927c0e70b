// The dashboard's static files: the page at `/`, its modules and styles under `/dashboard/`, read
// once from the package's dashboard/ folder (uPlot's files are copied into dashboard/vendor/ by
// `npm run build`). Nothing is fetched from elsewhere, and the Content-Security-Policy says so.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { extname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { FastifyInstance, FastifyReply } from 'fastify'

/** The package's dashboard/ folder. */
export const DASHBOARD_DIR = fileURLToPath(new URL('../../dashboard/', import.meta.url))

/**
 * The page's policy: its own origin only (scripts, styles, fetches), no inline script, no frames,
 * no forms posted elsewhere. uPlot sets styles through the CSSOM, which `style-src 'self'` allows.
 */
export const DASHBOARD_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ')

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
}

/** True for a request of one of the page's public files: those need no token (they hold no data). */
export function isDashboardAsset(method: string, url: string): boolean {
  if (method !== 'GET' && method !== 'HEAD') return false
  const path = url.split('?')[0] ?? ''
  return path === '/' || /^\/dashboard\/[A-Za-z0-9._/-]+$/.test(path)
}

/** Every servable file under `dir` by its URL path below /dashboard/ (`app.js`, `vendor/uPlot.esm.js`). */
function readFiles(dir: string, prefix = ''): Map<string, { body: Buffer; type: string }> {
  const files = new Map<string, { body: Buffer; type: string }>()
  if (!existsSync(dir)) return files
  for (const name of readdirSync(dir)) {
    const full = join(dir, name)
    if (statSync(full).isDirectory()) {
      for (const [k, v] of readFiles(full, `${prefix}${name}/`)) files.set(k, v)
      continue
    }
    const type = TYPES[extname(name)]
    if (type !== undefined) files.set(`${prefix}${name}`, { body: readFileSync(full), type })
  }
  return files
}

/**
 * Registers `GET /` (the page) and `GET /dashboard/*` (its files, and `access.json`: whether the
 * API wants a token) on `app`, each with the {@link DASHBOARD_CSP} policy, `nosniff` and no
 * referrer. Files are read once, here; a name not among them is 404, so no path reaches the file
 * system.
 *
 * @example
 * ```ts
 * serveDashboard(app, { tokenRequired: false }) // then GET http://127.0.0.1:7311/
 * ```
 */
export function serveDashboard(
  app: FastifyInstance,
  options: { tokenRequired: boolean; dir?: string },
): void {
  const files = readFiles(options.dir ?? DASHBOARD_DIR)
  // Whether the page must ask for the token before its first call (so it never provokes a 401).
  files.set('access.json', {
    body: Buffer.from(JSON.stringify({ tokenRequired: options.tokenRequired })),
    type: 'application/json; charset=utf-8',
  })
  const send = (path: string, reply: FastifyReply) => {
    const file = files.get(path)
    if (file === undefined)
      return reply.status(404).send({ error: { code: 'NOT_FOUND', message: `no dashboard file ${path}` } })
    return reply
      .header('content-security-policy', DASHBOARD_CSP)
      .header('x-content-type-options', 'nosniff')
      .header('referrer-policy', 'no-referrer')
      .header('cache-control', 'no-cache')
      .type(file.type)
      .send(file.body)
  }
  app.get('/', { schema: { hide: true } }, async (_request, reply) => send('index.html', reply))
  app.get<{ Params: { '*': string } }>('/dashboard/*', { schema: { hide: true } }, async (request, reply) =>
    send(request.params['*'], reply),
  )
}
