// pino JSON logs; each request logs through a child carrying its request id.
import { pino } from 'pino';

export type Logger = pino.Logger;

export function createLogger(options: { level?: string; name?: string } = {}): Logger {
  return pino({
    level: options.level ?? 'info',
    ...(options.name ? { name: options.name } : {}),
    base: { pid: process.pid },
    // Never log credentials, even by accident.
    redact: {
      paths: ['*.password', '*.token', '*.accessToken', '*.refreshToken', 'req.headers.authorization'],
      censor: '[redacted]',
    },
  });
}
