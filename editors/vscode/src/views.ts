// The "Agent Runs" tree in the explorer (runs -> steps with status icons, risk and duration) and
// the status-bar item showing the runs going on.
import * as vscode from 'vscode';
import type { RunNode } from './commands';
import { formatDuration, runSummary, stepDescription, stepLabel } from './format';
import { isActive, type Run, type RunStore } from './runs';
import type { AgentServer, ServerState } from './server';
import type { StepStatus } from './wire';

const STEP_ICONS: Record<StepStatus, [string, string?]> = {
  pending: ['circle-outline'],
  awaitingApproval: ['question', 'notificationsWarningIcon.foreground'],
  running: ['sync~spin'],
  succeeded: ['pass', 'testing.iconPassed'],
  failed: ['error', 'testing.iconFailed'],
  timedOut: ['watch', 'testing.iconFailed'],
  cancelled: ['circle-slash'],
  denied: ['shield', 'testing.iconFailed'],
  rejected: ['close', 'notificationsWarningIcon.foreground'],
  skipped: ['debug-step-over'],
  planned: ['list-ordered'],
};

const RUN_ICONS: Record<Run['phase'], [string, string?]> = {
  planning: ['loading~spin'],
  running: ['sync~spin'],
  succeeded: ['pass', 'testing.iconPassed'],
  failed: ['error', 'testing.iconFailed'],
  cancelled: ['circle-slash'],
  planned: ['list-ordered'],
};

function icon([id, color]: [string, string?]): vscode.ThemeIcon {
  return new vscode.ThemeIcon(id, color === undefined ? undefined : new vscode.ThemeColor(color));
}

export class RunsTree implements vscode.TreeDataProvider<RunNode> {
  private readonly changed = new vscode.EventEmitter<RunNode | undefined>();
  readonly onDidChangeTreeData = this.changed.event;

  constructor(private readonly runs: RunStore) {
    runs.onDidChange((event) => {
      if (event.kind !== 'output') {
        this.changed.fire(undefined);
      }
    });
  }

  getChildren(node?: RunNode): RunNode[] {
    if (node === undefined) {
      return this.runs.all().map((run) => ({ type: 'run', runId: run.runId }));
    }
    if (node.type === 'run') {
      return (this.runs.get(node.runId)?.steps ?? []).map((step) => ({
        type: 'step',
        runId: node.runId,
        stepId: step.id,
      }));
    }
    return [];
  }

  getTreeItem(node: RunNode): vscode.TreeItem {
    const run = this.runs.get(node.runId);
    if (run === undefined) {
      return new vscode.TreeItem('(forgotten run)');
    }
    if (node.type === 'run') {
      const item = new vscode.TreeItem(run.goal, vscode.TreeItemCollapsibleState.Expanded);
      item.id = run.runId;
      const took = run.finishedAt === undefined ? '' : ` · ${formatDuration(run.finishedAt - run.startedAt)}`;
      item.description = `${runSummary(run)}${took}`;
      item.tooltip = `${run.runId}\n${run.planner ? `planner ${run.planner}\n` : ''}${run.progress ?? ''}`;
      item.iconPath = icon(RUN_ICONS[run.phase]);
      item.contextValue = isActive(run) ? 'agentd.run.active' : 'agentd.run.finished';
      return item;
    }
    const step = run.steps.find((known) => known.id === node.stepId);
    if (step === undefined) {
      return new vscode.TreeItem(node.stepId);
    }
    const item = new vscode.TreeItem(stepLabel(step, 60), vscode.TreeItemCollapsibleState.None);
    item.id = `${run.runId}/${step.id}`;
    item.description = stepDescription(step);
    item.tooltip = new vscode.MarkdownString()
      .appendCodeblock(step.kind === 'runCli' ? (step.cmd ?? '') : `write ${step.path ?? ''}`, 'sh')
      .appendMarkdown(`\n\n**${step.decision}**, risk ${step.risk.level}\n\n`)
      .appendMarkdown(step.risk.reasons.map((reason) => `- ${reason}`).join('\n'));
    item.iconPath = icon(STEP_ICONS[step.status] ?? ['circle-outline']);
    item.contextValue = 'agentd.step';
    item.command = { command: 'agentd.openStepOutput', title: 'Open Output', arguments: [node] };
    return item;
  }

  dispose(): void {
    this.changed.dispose();
  }
}

/** `Agent: N running` while runs go on; the server's state otherwise. Click: cancel or show. */
export class RunsStatus implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem('agentd.status', vscode.StatusBarAlignment.Left, 10);
  private readonly subscriptions: vscode.Disposable[] = [];

  constructor(
    private readonly runs: RunStore,
    private readonly server: AgentServer,
  ) {
    this.item.name = 'agentd runs';
    this.item.command = 'agentd.showRuns';
    this.subscriptions.push(
      runs.onDidChange(() => this.update()),
      server.onDidChangeState(() => this.update()),
    );
    this.update();
    this.item.show();
  }

  private update(): void {
    const active = this.runs.active();
    const state: ServerState = this.server.state;
    if (active.length > 0) {
      this.item.text = `$(sync~spin) Agent: ${active.length} running`;
      this.item.tooltip = active.map((run) => `${run.goal}: ${runSummary(run)}`).join('\n');
      this.item.backgroundColor = undefined;
    } else if (state === 'failed') {
      this.item.text = '$(error) Agent';
      this.item.tooltip = 'The agentd server is not running: click to restart it';
      this.item.backgroundColor = new vscode.ThemeColor('statusBarItem.errorBackground');
    } else {
      this.item.text = state === 'running' ? '$(hubot) Agent' : `$(hubot) Agent (${state})`;
      this.item.tooltip = `agentd server ${state}; no run going on`;
      this.item.backgroundColor = undefined;
    }
  }

  dispose(): void {
    this.item.dispose();
    for (const subscription of this.subscriptions) {
      subscription.dispose();
    }
  }
}
