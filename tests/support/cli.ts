import { Io, main } from '../../cli/main';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI in-process with an argv array; returns the exit status and what it printed. */
export async function cli(args: string[], cwd: string): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const io: Io = { stdout: (s) => void (stdout += s), stderr: (s) => void (stderr += s), stderrIsTTY: false, cwd };
  const code = await main(args, io);
  return { code, stdout, stderr };
}

/** Runs `body` with an environment variable set (the test-only fault hooks read process.env). */
export function withEnv<T>(name: string, value: string, body: () => Promise<T>): Promise<T> {
  process.env[name] = value;
  return body().finally(() => delete process.env[name]);
}
