import type { FastifyBaseLogger } from 'fastify'

type Bindings = Record<string, unknown>
type LogArgs = [obj: unknown, ...rest: unknown[]]

/** Whether `logger` writes lines at `level`: pino's own check, or yes for a logger without one. */
function enabled(logger: FastifyBaseLogger, level: string): boolean {
  const check = (logger as { isLevelEnabled?: (level: string) => boolean }).isLevelEnabled
  return check === undefined || check.call(logger, level)
}

/**
 * A request's logger that makes pino's child logger (the one that carries the request id) only
 * when a line is written. fastify makes one per request, about 3 us each, and at info an
 * answered request writes nothing; a debug or trace line while the level is above it makes none.
 */
class RequestLogger {
  readonly #parent: FastifyBaseLogger
  readonly #bindings: Bindings
  #child: FastifyBaseLogger | undefined

  constructor(parent: FastifyBaseLogger, bindings: Bindings) {
    this.#parent = parent
    this.#bindings = bindings
  }

  #real(): FastifyBaseLogger {
    this.#child ??= this.#parent.child(this.#bindings)
    return this.#child
  }

  get level(): string {
    return (this.#child ?? this.#parent).level
  }

  set level(level: string) {
    this.#real().level = level
  }

  fatal(...args: LogArgs): void {
    ;(this.#real().fatal as (...a: LogArgs) => void)(...args)
  }

  error(...args: LogArgs): void {
    ;(this.#real().error as (...a: LogArgs) => void)(...args)
  }

  warn(...args: LogArgs): void {
    ;(this.#real().warn as (...a: LogArgs) => void)(...args)
  }

  info(...args: LogArgs): void {
    ;(this.#real().info as (...a: LogArgs) => void)(...args)
  }

  debug(...args: LogArgs): void {
    if (this.#child === undefined && !enabled(this.#parent, 'debug')) return
    ;(this.#real().debug as (...a: LogArgs) => void)(...args)
  }

  trace(...args: LogArgs): void {
    if (this.#child === undefined && !enabled(this.#parent, 'trace')) return
    ;(this.#real().trace as (...a: LogArgs) => void)(...args)
  }

  silent(): void {}

  child(bindings: Bindings, options?: object): FastifyBaseLogger {
    return this.#real().child(bindings, options)
  }
}

/**
 * fastify's `childLoggerFactory`: a {@link RequestLogger}, or pino's child at once when the route
 * sets its own level or serializers.
 */
export function requestLoggerFactory(
  logger: FastifyBaseLogger,
  bindings: Bindings,
  options: object,
): FastifyBaseLogger {
  if (Object.keys(options).length > 0) return logger.child(bindings, options)
  return new RequestLogger(logger, bindings) as unknown as FastifyBaseLogger
}
