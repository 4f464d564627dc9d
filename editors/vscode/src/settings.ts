// Settings: the VS Code `agentd.*` settings as the server's `agent` configuration section, and the
// command line that starts the server. Pure (no vscode import) so that node --test covers it.
import * as path from 'node:path';

/** VS Code setting (under `agentd.`) -> key of the server's `agent` section. */
export const AGENT_KEYS = {
  planner: 'planner',
  model: 'model',
  baseUrl: 'baseUrl',
  maxParallel: 'maxParallel',
  stepTimeoutMs: 'stepTimeoutMs',
  approvalTimeoutMs: 'approvalTimeoutMs',
  sandbox: 'sandbox',
} as const;

export type AgentSection = Record<string, unknown>;

/**
 * The `agent` section from the settings the user set (`explicit` returns undefined for a setting left
 * at its default). Unset keys are left out, so the server's own defaults apply to them; an empty
 * `baseUrl` means "the default endpoint". Values go as they are: the server validates them and shows
 * a warning naming a bad one.
 */
export function agentSection(explicit: (setting: string) => unknown): AgentSection {
  const section: AgentSection = {};
  for (const [setting, key] of Object.entries(AGENT_KEYS)) {
    const value = explicit(setting);
    if (value === undefined || value === null || value === '') {
      continue;
    }
    section[key] = value;
  }
  return section;
}

export interface ServerCommand {
  command: string;
  args: string[];
  /** Where the command came from, for the log and for error messages. */
  origin: string;
}

export class SettingError extends Error {}

const VENV_DIRS = ['.venv', 'venv', 'env'];

function agentdIn(binDir: string, platform: NodeJS.Platform): string {
  return path.join(binDir, platform === 'win32' ? 'agentd.exe' : 'agentd');
}

function binDirOf(venv: string, platform: NodeJS.Platform): string {
  return path.join(venv, platform === 'win32' ? 'Scripts' : 'bin');
}

export interface ServerCommandInputs {
  /** `agentd.server.command` as the user set it (undefined or [] means: find it). */
  configured: unknown;
  workspaceFolders: readonly string[];
  /** `python.defaultInterpreterPath`, when set. */
  pythonInterpreter?: string;
  isFile: (file: string) => boolean;
  platform?: NodeJS.Platform;
}

/**
 * The server's command line: `agentd.server.command` when set; else the `agentd` of the workspace's
 * Python environment (a `.venv`, `venv` or `env` folder, then the Python extension's interpreter);
 * else `agentd serve` from PATH.
 */
export function resolveServerCommand(inputs: ServerCommandInputs): ServerCommand {
  const platform = inputs.platform ?? process.platform;
  const { configured } = inputs;
  if (configured !== undefined && configured !== null && !(Array.isArray(configured) && configured.length === 0)) {
    if (!Array.isArray(configured) || !configured.every((part) => typeof part === 'string' && part !== '')) {
      throw new SettingError(
        'agentd.server.command must be a list of non-empty strings, e.g. ["/path/to/.venv/bin/agentd", "serve"]',
      );
    }
    const [command, ...args] = configured as string[];
    return { command: command as string, args, origin: 'the setting agentd.server.command' };
  }
  for (const folder of inputs.workspaceFolders) {
    for (const venv of VENV_DIRS) {
      const candidate = agentdIn(binDirOf(path.join(folder, venv), platform), platform);
      if (inputs.isFile(candidate)) {
        return { command: candidate, args: ['serve'], origin: `the workspace's ${venv} environment` };
      }
    }
  }
  const interpreter = inputs.pythonInterpreter;
  if (interpreter && path.isAbsolute(interpreter)) {
    const candidate = agentdIn(path.dirname(interpreter), platform);
    if (inputs.isFile(candidate)) {
      return { command: candidate, args: ['serve'], origin: 'the Python interpreter python.defaultInterpreterPath' };
    }
  }
  return { command: 'agentd', args: ['serve'], origin: 'PATH' };
}

/** Environment of the server process: the extension host's, plus the API key from secret storage. */
export function serverEnvironment(base: NodeJS.ProcessEnv, apiKey: string | undefined): NodeJS.ProcessEnv {
  const env = { ...base };
  if (apiKey) {
    env.OPENAI_API_KEY = apiKey;
  }
  return env;
}
