// undici's Pool by its own module: the package's index also loads fetch, WebSocket, caches and
// mocks, 0.1-0.3 s of loading that the API client does not need (cli/apiSenders.ts).
declare module 'undici/lib/dispatcher/pool.js' {
  import type { Pool } from 'undici'
  const PoolClass: typeof Pool
  export default PoolClass
}
