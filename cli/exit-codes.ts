import { ZodError } from 'zod';
import { ConfigError } from '../configs/errors';
import { ParameterError } from '../core/errors';

/** Exit statuses of the CLI. */
export const EXIT_OK = 0;
/** The run failed (non-finite values, a model that errors, I/O). */
export const EXIT_FAILURE = 1;
/** Bad config or usage: nothing was run (or the run stopped at what the config asked for). */
export const EXIT_USAGE = 2;

/** Raised for command-line usage problems (yargs' complaints, missing files on the command line). */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** Errors that say the input was wrong, by class or (for classes of modules loaded lazily) by name. */
const USAGE_ERROR_NAMES = new Set([
  'ConfigError',
  'UsageError',
  'ParameterError',
  'ZodError',
  'ModelCardMismatchError',
  'YError',
  'NpyError',
  // An input file that is not a regular file or over its size limit; an output folder that cannot
  // be used; a sweep folder another live sweep holds.
  'InputFileError',
  'OutputFolderError',
  'SweepLockedError',
]);

/** 2 for bad config or usage (ConfigError, ParameterError, zod, yargs, a config contradicting the model card), else 1. */
export function exitCodeFor(err: unknown): number {
  if (err instanceof ConfigError || err instanceof UsageError || err instanceof ParameterError || err instanceof ZodError) return EXIT_USAGE;
  if (err instanceof Error && USAGE_ERROR_NAMES.has(err.name)) return EXIT_USAGE;
  return EXIT_FAILURE;
}
