import pino, { type Logger as PinoLogger } from 'pino';

export type Logger = PinoLogger;

/** The daemon's own log (ALOFT_HOME/daemon.log), JSON lines. Secret values are redacted by path. */
export function createLogger(file: string): Logger {
  return pino(
    {
      base: { pid: process.pid },
      level: process.env.ALOFT_LOG_LEVEL ?? 'info',
      redact: { paths: ['secrets', '*.secrets', '*.*.secrets', 'task.secrets', 'params.task.secrets'], censor: '<redacted>' },
    },
    // Synchronous: the daemon logs little, and a crash must not lose (or garble) its last lines.
    pino.destination({ dest: file, mkdir: true, sync: true }),
  );
}
