// Entry point: wires the run store, the server, the views and the commands together.
import * as vscode from 'vscode';
import { ApprovalQueue, type ApprovalPrompt, type Presenter } from './approvals';
import { Commands } from './commands';
import type { GoalChoices } from './goals';
import { Launcher } from './launch';
import { RunLog } from './log';
import { announceOutcomes, showRunProgress, StepOutputDocuments } from './notify';
import { RunStore } from './runs';
import { AgentServer } from './server';
import { RunsStatus, RunsTree } from './views';

/** What `activate` returns: for other extensions and for the in-host tests. */
export interface AgentdApi {
  readonly runs: RunStore;
  readonly server: AgentServer;
  /** The approval queue; its `presenter` shows each prompt (a modal message by default). */
  readonly approvals: ApprovalQueue;
  /** What the goal picker offers for a workspace: goals, and the problems of a broken goals file. */
  goalChoices(workspace?: string): Promise<GoalChoices>;
}

/** The approval prompt: a modal message with the command, its risk and reasons, and the timeout. */
const modalPresenter: Presenter = async (prompt: ApprovalPrompt) => {
  const labels = prompt.buttons.map((button) => button.label);
  const chosen = await vscode.window.showWarningMessage(
    prompt.message,
    { modal: true, detail: prompt.detail },
    ...labels,
  );
  return prompt.buttons.find((button) => button.label === chosen)?.optionId;
};

let running: AgentServer | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<AgentdApi> {
  const output = vscode.window.createOutputChannel('Agent');
  const serverLog = vscode.window.createOutputChannel('agentd server');
  const runs = new RunStore();
  // The queue reads the timeout when it asks, after the server has answered agent/health.
  const approvals: ApprovalQueue = new ApprovalQueue(
    modalPresenter,
    (): number | undefined => server.approvalTimeoutMs,
  );
  const server: AgentServer = new AgentServer(serverLog, context.secrets, runs, approvals);
  const launcher = new Launcher(server, runs);
  server.onTraceDiagnostics = (runId, workspace) => void launcher.followFinished(runId, workspace);
  const commands = new Commands(server, runs, launcher, output, context.secrets);
  const runLog = new RunLog((text) => output.append(text));
  const tree = new RunsTree(runs);
  const outputDocs = new StepOutputDocuments(runs);

  context.subscriptions.push(
    output,
    serverLog,
    runs,
    server,
    tree,
    outputDocs,
    runs.onDidChange((event) => runLog.handle(event)),
    showRunProgress(runs, (runId) => launcher.cancel(runId)),
    announceOutcomes(runs, output),
    vscode.window.registerTreeDataProvider('agentd.runs', tree),
    vscode.workspace.registerTextDocumentContentProvider(StepOutputDocuments.scheme, outputDocs),
    new RunsStatus(runs, server),
    ...commands.register(),
    vscode.workspace.onDidChangeConfiguration((event) => void configurationChanged(event, server)),
  );
  await vscode.commands.executeCommand('setContext', 'agentd.canRevert', false);
  running = server;
  void server.start();
  const api: AgentdApi = {
    runs,
    server,
    approvals,
    goalChoices: (workspace) => commands.goalChoices(workspace ?? vscode.workspace.workspaceFolders?.[0]?.uri.fsPath),
  };
  return api;
}

async function configurationChanged(event: vscode.ConfigurationChangeEvent, server: AgentServer): Promise<void> {
  if (event.affectsConfiguration('agentd.server.command')) {
    const choice = await vscode.window.showInformationMessage(
      'Agent: agentd.server.command changed; restart the server to use it.',
      'Restart',
    );
    if (choice === 'Restart') {
      await server.restart();
    }
  } else if (event.affectsConfiguration('agentd')) {
    await server.configurationChanged();
  }
}

/** Stop the server cleanly (shutdown, exit: it cancels its runs) before the extension host goes. */
export function deactivate(): Promise<void> | undefined {
  return running?.stop();
}
