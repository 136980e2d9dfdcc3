import type { Socket } from 'node:net';
import { PROBLEM_CONTENT_TYPE, problemOf } from './problem';

/**
 * What Node's HTTP parser refuses before Express sees the request (a request line or headers
 * over the size limit, bytes that are no HTTP) is answered as every other error is, an RFC 9457
 * problem, not Node's bare status line (or a dropped connection).
 */
export function answerClientError(err: NodeJS.ErrnoException & { code?: string }, socket: Socket): void {
  if (!socket.writable || (err.code === 'ECONNRESET' && socket.destroyed)) {
    socket.destroy();
    return;
  }
  const tooLarge = err.code === 'HPE_HEADER_OVERFLOW';
  const timeout = err.code === 'ERR_HTTP_REQUEST_TIMEOUT';
  const problem = tooLarge
    ? problemOf(
        431,
        'headers-too-large',
        'Request header fields too large',
        'The request line and headers are over the size this server reads (16 KiB).',
      )
    : timeout
      ? problemOf(408, 'request-timeout', 'Request timeout', 'The request did not arrive in time.')
      : problemOf(400, 'malformed-request', 'Malformed request', 'The request is not valid HTTP/1.1.');
  const body = JSON.stringify(problem);
  socket.end(
    `HTTP/1.1 ${problem.status} ${problem.title}\r\n` +
      `Content-Type: ${PROBLEM_CONTENT_TYPE}\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\n` +
      'Connection: close\r\n\r\n' +
      body,
  );
}
