// What the user is told when the server cannot start or stops: the cause and the fix, with the
// last lines the server printed. Pure.
import type { ServerCommand } from './settings';

/** Lines of the server's stderr kept for these messages; the whole stream is in the log channel. */
export const KEPT_LINES = 20;
export const SHOWN_LINES = 5;

/** The last `keep` non-blank lines after appending `chunk`. */
export function keepTail(tail: readonly string[], chunk: string, keep = KEPT_LINES): string[] {
  return [...tail, ...chunk.split('\n').filter((line) => line.trim() !== '')].slice(-keep);
}

export interface ServerExit {
  /** The spawn error's code (ENOENT, EACCES), when the process did not even start. */
  errorCode?: string;
  /** How the process ended, when it has. */
  exitCode?: number | null;
  signal?: string | null;
  /** Anything else known (the client's error message). */
  error?: string;
  tail: readonly string[];
}

function lastLines(tail: readonly string[]): string {
  const lines = tail.slice(-SHOWN_LINES);
  return lines.length === 0 ? '' : ` Last lines of its log: ${lines.join(' ⏎ ')}`;
}

function how(exit: ServerExit): string | undefined {
  if (exit.signal) {
    return `it was killed by ${exit.signal}`;
  }
  if (exit.exitCode !== undefined && exit.exitCode !== null) {
    return `it exited with code ${exit.exitCode}`;
  }
  return undefined;
}

export function startFailureMessage(command: ServerCommand, exit: ServerExit): string {
  if (exit.errorCode === 'ENOENT') {
    return (
      `agentd could not start: ${command.command} was not found (from ${command.origin}). ` +
      "Install agentd in the workspace's Python environment (python -m pip install agentd) " +
      'or set agentd.server.command to its command line.'
    );
  }
  if (exit.errorCode === 'EACCES') {
    return `agentd could not start: ${command.command} is not executable (from ${command.origin}).`;
  }
  const line = [command.command, ...command.args].join(' ');
  return (
    `agentd could not start (${line}): ${how(exit) ?? exit.error ?? 'no answer to initialize'}.${lastLines(exit.tail)} ` +
    'Check that agentd is installed for Python 3.11+ and that agentd.server.command runs `agentd serve`.'
  );
}

export function crashMessage(command: ServerCommand, exit: ServerExit): string {
  return `agentd stopped unexpectedly (${command.command}): ${how(exit) ?? 'its connection closed'}.${lastLines(exit.tail)}`;
}
