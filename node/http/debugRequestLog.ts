import { LogController, type FastifyReply, type FastifyRequest } from 'fastify'

/**
 * fastify's line for each request and each answer at debug, not info: at info a busy node wrote
 * two lines per co-signed step (each one a write to the log), as much CPU as the rest of the HTTP
 * answer. A request that ends in an error is still logged at error.
 */
export class DebugRequestLog extends LogController {
  override incomingRequest(request: FastifyRequest): void {
    request.log.debug({ req: request }, 'incoming request')
  }
  override requestCompleted(
    error: Error | null | undefined,
    request: FastifyRequest,
    reply: FastifyReply,
  ): void {
    if (error) super.requestCompleted(error, request, reply)
    else reply.log.debug({ res: reply, responseTime: reply.elapsedTime }, 'request completed')
  }
}
