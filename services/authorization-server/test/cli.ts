// Runs an operator command (src/cli/*.ts) as a real process, the way `npm run keys` / `npm run clients` do,
// with only the environment a test gives it (never the shell's DATABASE_URL).
import { execFile } from 'node:child_process';
import { join } from 'node:path';

const serviceDir = join(import.meta.dirname, '..');
const tsx = join(serviceDir, '..', '..', 'node_modules', 'tsx', 'dist', 'cli.mjs');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function runCli(script: 'keys' | 'clients', args: string[], env: Record<string, string>): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [tsx, `src/cli/${script}.ts`, ...args],
      { cwd: serviceDir, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env }, timeout: 60_000 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}
