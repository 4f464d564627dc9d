// The agentd server process and its language client: start over stdio, restart, the log, the
// settings pushed live, and clear notifications (with the fix) when it cannot start or crashes.
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as vscode from 'vscode';
import {
  CloseAction,
  DidChangeConfigurationNotification,
  ErrorAction,
  LanguageClient,
  NotificationType,
  RequestType,
  type ResponseError,
  WorkDoneProgress,
  type StaticFeature,
} from 'vscode-languageclient/node';
import type { ApprovalQueue } from './approvals';
import { crashMessage, keepTail, startFailureMessage, type ServerExit } from './failures';
import type { RunStore } from './runs';
import { agentSection, resolveServerCommand, serverEnvironment, type ServerCommand } from './settings';
import type {
  Health,
  OutputDeltaParams,
  PlanReadyParams,
  RequestPermissionParams,
  RequestPermissionResult,
  RunStartedParams,
  StepUpdatedParams,
} from './wire';

export const SECRET_API_KEY = 'agentd.openaiApiKey';

const RunStarted = new NotificationType<RunStartedParams>('agent/runStarted');
const PlanReady = new NotificationType<PlanReadyParams>('agent/planReady');
const StepUpdated = new NotificationType<StepUpdatedParams>('agent/stepUpdated');
const OutputDelta = new NotificationType<OutputDeltaParams>('agent/outputDelta');
const RequestPermission = new RequestType<RequestPermissionParams, RequestPermissionResult, void>(
  'agent/requestPermission',
);

export type ServerState = 'stopped' | 'starting' | 'running' | 'failed';

/** Announces that this client answers `agent/requestPermission` (docs/protocol.md, Approvals). */
const requestPermissionFeature: StaticFeature = {
  fillClientCapabilities(capabilities) {
    const experimental = (capabilities.experimental ?? {}) as Record<string, unknown>;
    capabilities.experimental = { ...experimental, agent: { requestPermission: true } };
  },
  initialize() {},
  getState: () => ({ kind: 'static' }),
  clear() {},
};

/** The settings the user set explicitly (any scope), so that the server's defaults apply to the rest. */
export function currentAgentSection(): Record<string, unknown> {
  const config = vscode.workspace.getConfiguration('agentd');
  return agentSection((setting) => {
    const values = config.inspect(setting);
    return values?.workspaceFolderValue ?? values?.workspaceValue ?? values?.globalValue;
  });
}

/** Wait (at most `ms`) for a process to exit; true when it has. */
function exited(child: ChildProcess | undefined, ms: number): Promise<boolean> {
  if (child === undefined || child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve(true);
  }
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

export class AgentServer implements vscode.Disposable {
  private client: LanguageClient | undefined;
  private process: ChildProcess | undefined;
  private startup: Promise<boolean> | undefined;
  private stderrTail: string[] = [];
  private readonly stateChanged = new vscode.EventEmitter<ServerState>();
  readonly onDidChangeState = this.stateChanged.event;
  state: ServerState = 'stopped';
  /** `capabilities.experimental.agent.methods` of the running server. */
  methods: string[] = [];
  approvalTimeoutMs: number | undefined;
  /** A trace file got its diagnostics: the run has ended (foreign runs learn their end this way). */
  onTraceDiagnostics: (runId: string, workspace: string) => void = () => {};

  constructor(
    readonly log: vscode.OutputChannel,
    private readonly secrets: vscode.SecretStorage,
    private readonly runs: RunStore,
    private readonly approvals: ApprovalQueue,
  ) {}

  private setState(state: ServerState): void {
    this.state = state;
    this.stateChanged.fire(state);
  }

  /** Start the server (or join the start under way); false (after telling why) when it cannot. */
  start(): Promise<boolean> {
    if (this.client !== undefined && this.startup === undefined) {
      return Promise.resolve(this.state === 'running');
    }
    this.startup ??= this.launch().finally(() => (this.startup = undefined));
    return this.startup;
  }

  private async launch(): Promise<boolean> {
    let command: ServerCommand;
    try {
      command = this.command();
    } catch (error) {
      this.setState('failed');
      void this.tellFailure(String(error instanceof Error ? error.message : error), false);
      return false;
    }
    const env = serverEnvironment(process.env, await this.secrets.get(SECRET_API_KEY));
    const cwd = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
    this.log.appendLine(`agentd: starting ${[command.command, ...command.args].join(' ')} (from ${command.origin})`);
    this.stderrTail = [];
    const client = new LanguageClient('agentd', 'agentd', () => this.spawn(command, env, cwd), {
      documentSelector: [{ scheme: 'file' }],
      outputChannel: this.log,
      initializationOptions: { agent: currentAgentSection() },
      errorHandler: {
        error: () => ({ action: ErrorAction.Continue, handled: true }),
        closed: () => {
          this.closed(client, command);
          return { action: CloseAction.DoNotRestart, handled: true };
        },
      },
      middleware: {
        handleDiagnostics: (uri, diagnostics, next) => {
          next(uri, diagnostics);
          this.traceDiagnostics(uri);
        },
        workspace: {
          configuration: async (params, token, next): Promise<unknown[] | ResponseError> => {
            const answers: unknown = await next(params, token);
            if (!Array.isArray(answers)) {
              return answers as ResponseError;
            }
            return (answers as unknown[]).map((answer, index) =>
              params.items[index]?.section === 'agent' ? currentAgentSection() : answer,
            );
          },
        },
      },
    });
    client.registerFeature(requestPermissionFeature);
    client.onNotification(RunStarted, (params) => this.runs.started(params));
    client.onNotification(PlanReady, (params) => this.runs.planReady(params));
    client.onNotification(StepUpdated, (params) => this.runs.stepUpdated(params));
    client.onNotification(OutputDelta, (params) => this.runs.outputDelta(params));
    client.onRequest(RequestPermission, (params, token) => this.approvals.ask(params, token));
    this.client = client;
    this.setState('starting');
    try {
      await client.start();
    } catch (error) {
      this.client = undefined;
      this.setState('failed');
      await exited(this.process, 1000);
      const errorCode = (error as NodeJS.ErrnoException | undefined)?.code;
      void this.tellFailure(startFailureMessage(command, this.exit({ errorCode, error: String(error) })), true);
      return false;
    }
    const experimental = client.initializeResult?.capabilities.experimental as
      | { agent?: { methods?: string[] } }
      | undefined;
    this.methods = experimental?.agent?.methods ?? [];
    await vscode.commands.executeCommand('setContext', 'agentd.canRevert', this.offers('agent/revert'));
    this.setState('running');
    await this.refreshHealth();
    return true;
  }

  /** Stop the server (its runs are cancelled with it); a new start may begin at once. */
  async stop(): Promise<void> {
    const client = this.client;
    const child = this.process;
    if (client === undefined) {
      return;
    }
    this.client = undefined; // from now on its close is no news (see closed())
    this.runs.serverStopped();
    this.setState('stopped');
    try {
      await client.stop(5000);
    } catch (error) {
      this.log.appendLine(`agentd: stopping the client: ${String(error)}`);
    }
    // The server exits at the end of its input; one that does not is terminated.
    if (child !== undefined && !(await exited(child, 3000))) {
      child.kill('SIGTERM');
    }
  }

  async restart(): Promise<boolean> {
    await this.stop();
    return this.start();
  }

  /** The server process's pid, while there is one. */
  get pid(): number | undefined {
    return this.process?.pid;
  }

  /** Whether the running server lists `method` in `capabilities.experimental.agent.methods`. */
  offers(method: string): boolean {
    return this.methods.includes(method);
  }

  /** A request to the server, starting it first when needed. */
  async request<R>(method: string, params: object, token?: vscode.CancellationToken): Promise<R> {
    if (this.state !== 'running' && !(await this.start())) {
      throw new Error('agentd is not running (see the agentd server log)');
    }
    const client = this.client;
    if (client === undefined || this.state !== 'running') {
      throw new Error(`agentd is ${this.state}`);
    }
    return token === undefined ? client.sendRequest<R>(method, params) : client.sendRequest<R>(method, params, token);
  }

  /** Follow the `$/progress` of a run this extension started with `token`. */
  onProgress(token: string, handler: (message: string | undefined) => void): vscode.Disposable {
    const client = this.client;
    if (client === undefined) {
      return new vscode.Disposable(() => {});
    }
    return client.onProgress(WorkDoneProgress.type, token, (value) => handler(value.message));
  }

  /** Push the `agent` section after a settings change; the approval timeout may have changed. */
  async configurationChanged(): Promise<void> {
    const client = this.client;
    if (client === undefined || this.state !== 'running') {
      return;
    }
    await client.sendNotification(DidChangeConfigurationNotification.type, {
      settings: { agent: currentAgentSection() },
    });
    await this.refreshHealth();
  }

  private async refreshHealth(): Promise<void> {
    try {
      // Straight to the client: this also runs inside start(), which request() would wait for.
      const health = await this.client?.sendRequest<Health>('agent/health', {});
      if (health === undefined) {
        return;
      }
      this.approvalTimeoutMs = health.approvalTimeoutMs;
    } catch (error) {
      this.log.appendLine(`agentd: agent/health failed: ${String(error)}`);
    }
  }

  private command(): ServerCommand {
    const folders = (vscode.workspace.workspaceFolders ?? []).map((folder) => folder.uri.fsPath);
    return resolveServerCommand({
      configured: vscode.workspace.getConfiguration('agentd').get('server.command'),
      workspaceFolders: folders,
      pythonInterpreter: vscode.workspace.getConfiguration('python').get<string>('defaultInterpreterPath'),
      isFile: (file) => fs.statSync(file, { throwIfNoEntry: false })?.isFile() ?? false,
    });
  }

  private async spawn(command: ServerCommand, env: NodeJS.ProcessEnv, cwd: string | undefined): Promise<ChildProcess> {
    const child = spawn(command.command, command.args, { cwd, env, stdio: 'pipe' });
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', reject);
    });
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      this.stderrTail = keepTail(this.stderrTail, chunk);
    });
    child.on('exit', (code, signal) => {
      this.log.appendLine(`agentd: the server exited (${signal ?? `code ${code}`})`);
    });
    this.process = child;
    return child;
  }

  private closed(client: LanguageClient, command: ServerCommand): void {
    if (this.client !== client || this.state === 'starting') {
      return; // a client stopped on purpose, or a failed start (launch() tells about that one)
    }
    const child = this.process;
    this.client = undefined;
    this.runs.serverStopped();
    this.setState('failed');
    void exited(child, 1000).then(() => void this.tellFailure(crashMessage(command, this.exit({})), true));
  }

  /** What is known of the server process's end, with the last lines it printed. */
  private exit(known: Partial<ServerExit>): ServerExit {
    return { exitCode: this.process?.exitCode, signal: this.process?.signalCode, ...known, tail: this.stderrTail };
  }

  private async tellFailure(message: string, canRestart: boolean): Promise<void> {
    this.log.appendLine(message);
    const actions = canRestart ? ['Show Log', 'Restart', 'Open Settings'] : ['Open Settings', 'Show Log'];
    const choice = await vscode.window.showErrorMessage(message, ...actions);
    if (choice === 'Show Log') {
      this.log.show(true);
    } else if (choice === 'Restart') {
      await this.restart();
    } else if (choice === 'Open Settings') {
      await vscode.commands.executeCommand('workbench.action.openSettings', 'agentd.server.command');
    }
  }

  private traceDiagnostics(uri: vscode.Uri): void {
    const match = /^(.*)\/\.agent\/runs\/([^/]+)\.jsonl$/.exec(uri.path);
    if (uri.scheme === 'file' && match?.[1] !== undefined && match[2] !== undefined) {
      this.onTraceDiagnostics(match[2], uri.with({ path: match[1] }).fsPath);
    }
  }

  dispose(): void {
    void this.stop();
    this.stateChanged.dispose();
  }
}
