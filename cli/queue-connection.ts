import type { Redis, RedisOptions } from 'ioredis';
import { UsageError } from './exit-codes';

/**
 * The Redis connection of a queue sweep (coordinator, workers, --status), from a
 * `redis://[user:password@]host:port[/db]` URL (`rediss://` for TLS). Never an endless reconnect
 * loop: the first connection is given up after CONNECT_GIVE_UP_MS, a lost one after
 * RECONNECT_ATTEMPTS tries (about a minute), and then the command fails with QueueUnreachableError
 * naming the URL (exit 1).
 */

/** Raised when Redis cannot be reached, or the connection is lost for good; the CLI exits 1. */
export class QueueUnreachableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'QueueUnreachableError';
  }
}

export interface RedisTarget {
  /** The URL as given (ioredis parses it). */
  url: string;
  /** The URL with any password replaced by ***, for messages. */
  shown: string;
}

/** Checks a --queue URL: redis:// or rediss://, a host, a port if any, a database number if any. */
export function parseRedisUrl(text: string): RedisTarget {
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    throw new UsageError(`--queue: '${text}' is not a URL; give redis://host:port[/db]`);
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') throw new UsageError(`--queue: '${text}' is not a redis:// or rediss:// URL`);
  if (!u.hostname) throw new UsageError(`--queue: '${text}' names no host; give redis://host:port[/db]`);
  if (u.pathname && u.pathname !== '/' && !/^\/\d{1,2}$/.test(u.pathname)) throw new UsageError(`--queue: '${text}': the path must be a database number (redis://host:port/0)`);
  if (u.password) u.password = '***';
  return { url: text, shown: u.toString() };
}

/** Tries of a lost connection before giving up: 250 ms, 500 ms, … then every 2 s, about a minute in all. */
const RECONNECT_ATTEMPTS = 35;
/** How long the first connection may take (refused connections are retried meanwhile). */
export const CONNECT_GIVE_UP_MS = 5000;

/**
 * A connected client (maxRetriesPerRequest null, as BullMQ's workers need: commands wait for a
 * reconnection, which is bounded) and `lost`, which rejects with QueueUnreachableError when the
 * client stops reconnecting (Redis gone for about a minute): race it against the work that needs
 * Redis. `open` rejects within CONNECT_GIVE_UP_MS (plus one connect timeout) when Redis does not
 * answer.
 */
export class QueueConnection {
  private closing = false;
  private lastError: Error | undefined;
  readonly lost: Promise<never>;

  private constructor(
    readonly client: Redis,
    readonly target: RedisTarget,
  ) {
    client.on('error', (err: Error) => (this.lastError = err));
    this.lost = new Promise<never>((_, reject) => {
      client.once('end', () => {
        if (!this.closing) reject(new QueueUnreachableError(`lost the connection to Redis at ${target.shown}${this.lastError ? ` (${describe(this.lastError)})` : ''}; gave up reconnecting`));
      });
    });
    this.lost.catch(() => undefined); // observed by whoever races it; never an unhandled rejection
  }

  static async open(target: RedisTarget): Promise<QueueConnection> {
    const { Redis } = await import('ioredis');
    const options: RedisOptions = {
      maxRetriesPerRequest: null,
      connectTimeout: 3000,
      disconnectTimeout: 200, // a socket that never closed is destroyed soon (the default 2 s delays the exit)
      lazyConnect: true,
      retryStrategy: (times) => (times > RECONNECT_ATTEMPTS ? null : Math.min(250 * times, 2000)),
    };
    const conn = new QueueConnection(new Redis(target.url, options), target);
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('no answer')), CONNECT_GIVE_UP_MS);
        conn.client.once('ready', () => {
          clearTimeout(timer);
          resolve();
        });
        conn.client.connect().catch(() => undefined); // failures arrive as 'error' events, and are retried
      });
    } catch {
      conn.closing = true;
      conn.client.disconnect();
      const why = conn.lastError ? describe(conn.lastError) : 'no answer';
      throw new QueueUnreachableError(`cannot reach Redis at ${target.shown} (${why}; tried for ${CONNECT_GIVE_UP_MS / 1000} s); is redis-server running there, and its port open to this machine?`);
    }
    return conn;
  }

  async close(): Promise<void> {
    this.closing = true;
    try {
      await this.client.quit();
    } catch {
      this.client.disconnect();
    }
  }
}

function describe(err: Error): string {
  const code = (err as NodeJS.ErrnoException).code;
  return code && !err.message.includes(code) ? `${code}: ${err.message}` : err.message;
}
