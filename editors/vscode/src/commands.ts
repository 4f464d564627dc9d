// The palette commands (ids `agentd.*`: vscode-languageclient registers the server's `agent/*`
// command names itself) and their pickers.
import * as vscode from 'vscode';
import { runSummary, stepDescription, stepLabel } from './format';
import { goalChoices, goalItems, type GoalChoices, type GoalItem } from './goals';
import type { Launcher } from './launch';
import { isActive, type Run, type RunStore } from './runs';
import { SECRET_API_KEY, type AgentServer } from './server';
import type { ListGoalsResult, RevertResult, RunGoalParams, RunResult } from './wire';

/** What the tree passes to its context-menu commands. */
export type RunNode = { type: 'run'; runId: string } | { type: 'step'; runId: string; stepId: string };

/** A goal id, or the params of a run (`goal` or `steps`, optional `workspace`). */
export type GoalArgument = string | RunGoalParams;

function runIdOf(argument: unknown): string | undefined {
  if (typeof argument === 'string') {
    return argument;
  }
  const node = argument as Partial<RunNode> | undefined;
  return typeof node?.runId === 'string' ? node.runId : undefined;
}

export class Commands {
  constructor(
    private readonly server: AgentServer,
    private readonly runs: RunStore,
    private readonly launcher: Launcher,
    private readonly output: vscode.OutputChannel,
    private readonly secrets: vscode.SecretStorage,
  ) {}

  register(): vscode.Disposable[] {
    const commands: Record<string, (...args: never[]) => unknown> = {
      'agentd.runGoal': (argument?: GoalArgument) => this.runGoal(argument, false),
      'agentd.planGoal': (argument?: GoalArgument) => this.runGoal(argument, true),
      'agentd.cancelRun': (argument?: unknown) => this.cancelRun(runIdOf(argument)),
      'agentd.showTrace': (argument?: unknown) => this.showTrace(runIdOf(argument)),
      'agentd.revertRun': (argument?: unknown) => this.revertRun(runIdOf(argument)),
      'agentd.restartServer': () => this.server.restart(),
      'agentd.setApiKey': () => this.setApiKey(),
      'agentd.showOutput': () => this.output.show(true),
      'agentd.showRuns': () => this.showRuns(),
      'agentd.openStepOutput': (node?: RunNode) => this.openStepOutput(node),
      'agentd.rerunStep': (node?: RunNode) => this.rerunStep(node),
    };
    return Object.entries(commands).map(([id, handler]) => vscode.commands.registerCommand(id, handler));
  }

  /** The goals for the picker: `agent/listGoals`, its error as a problem. */
  async goalChoices(workspace: string | undefined): Promise<GoalChoices> {
    try {
      return goalChoices(await this.server.request<ListGoalsResult>('agent/listGoals', workspace ? { workspace } : {}));
    } catch (error) {
      return goalChoices({ error: error instanceof Error ? error.message : String(error) });
    }
  }

  private async runGoal(argument: GoalArgument | undefined, dryRun: boolean): Promise<RunResult | undefined> {
    let params: RunGoalParams;
    if (argument === undefined) {
      const workspace = await pickWorkspace();
      if (workspace === null) {
        return undefined;
      }
      const goal = await this.pickGoal(workspace, dryRun);
      if (goal === undefined) {
        return undefined;
      }
      params = { goal, workspace };
    } else {
      params = typeof argument === 'string' ? { goal: argument } : { ...argument };
      params.workspace ??= vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
    }
    const result = await this.launcher.run(params, dryRun);
    if (dryRun && result !== undefined && argument === undefined) {
      void this.showPlan(result, params.workspace);
    }
    return result;
  }

  private async pickGoal(workspace: string | undefined, dryRun: boolean): Promise<string | undefined> {
    const picker = vscode.window.createQuickPick<vscode.QuickPickItem & { item?: GoalItem }>();
    picker.title = dryRun ? 'Agent: Plan Goal (dry run)' : 'Agent: Run Goal';
    picker.placeholder = 'Pick a goal, or type a goal for the language model';
    picker.matchOnDescription = true;
    picker.busy = true;
    picker.show();
    let choices: GoalChoices = { goals: [], problems: [] };
    const refresh = (): void => {
      picker.items = goalItems(choices, picker.value).map((item) =>
        item.kind === 'separator'
          ? { label: item.label, kind: vscode.QuickPickItemKind.Separator }
          : {
              label: item.label,
              description: item.description,
              detail: 'detail' in item ? item.detail : undefined,
              item,
              alwaysShow: item.kind !== 'goal',
            },
      );
    };
    picker.onDidChangeValue(refresh);
    void this.goalChoices(workspace).then((loaded) => {
      choices = loaded;
      picker.busy = false;
      refresh();
    });
    const chosen = await new Promise<GoalItem | undefined>((resolve) => {
      picker.onDidAccept(() => resolve(picker.selectedItems[0]?.item));
      picker.onDidHide(() => resolve(undefined));
    });
    picker.dispose();
    if (chosen?.kind === 'problem') {
      if (chosen.path) {
        await vscode.window.showTextDocument(vscode.Uri.file(chosen.path));
      }
      return undefined;
    }
    return chosen?.kind === 'goal' || chosen?.kind === 'freeText' ? chosen.goal : undefined;
  }

  /** Each planned step with its risk, reasons and decision; "Run as planned" runs exactly that plan. */
  private async showPlan(result: RunResult, workspace: string | undefined): Promise<void> {
    type PlanItem = vscode.QuickPickItem & { action?: 'run' | 'trace' };
    const decisionIcon = { allow: '$(pass)', ask: '$(question)', deny: '$(circle-slash)' } as const;
    const items: PlanItem[] = [
      {
        label: '$(play) Run as planned',
        description: `${result.results.length} step(s), gated again when they run`,
        action: 'run',
      },
      { label: '$(file) Show trace', description: result.trace, action: 'trace' },
      { label: 'steps', kind: vscode.QuickPickItemKind.Separator },
      ...result.results.map((step) => ({
        label: `${decisionIcon[step.decision]} ${stepLabel(step)}`,
        description: `${step.decision} · ${stepDescription(step)}`,
        detail: step.risk.reasons.join('; '),
      })),
    ];
    const chosen = await vscode.window.showQuickPick(items, {
      title: `Plan of ${result.goal} (${result.planner})`,
      placeHolder: 'Run as planned, or Escape to leave it',
      matchOnDetail: true,
    });
    if (chosen?.action === 'run') {
      await this.launcher.runAsPlanned(result.runId, workspace);
    } else if (chosen?.action === 'trace') {
      await this.showTrace(result.runId);
    }
  }

  private async cancelRun(runId: string | undefined): Promise<boolean> {
    const id = runId ?? (await this.pickRun(this.runs.active(), 'Cancel which run?'))?.runId;
    if (id === undefined) {
      return false;
    }
    return this.launcher.cancel(id);
  }

  private async pickRun(candidates: Run[], placeHolder: string): Promise<Run | undefined> {
    if (candidates.length === 0) {
      void vscode.window.showInformationMessage('Agent: no run to choose from.');
      return undefined;
    }
    const [only] = candidates;
    if (candidates.length === 1 && only !== undefined && isActive(only)) {
      return only; // the one run going on: nothing to choose
    }
    const chosen = await vscode.window.showQuickPick(
      candidates.map((run) => ({ label: run.goal, description: `${runSummary(run)} · ${run.runId}`, run })),
      { placeHolder },
    );
    return chosen?.run;
  }

  private async showTrace(runId: string | undefined): Promise<void> {
    const uri = runId !== undefined ? this.traceUri(runId, this.runs.get(runId)?.workspace) : await this.pickTrace();
    if (uri !== undefined) {
      await vscode.window.showTextDocument(uri, { preview: false });
    }
  }

  private traceUri(runId: string, workspace: string | undefined): vscode.Uri | undefined {
    const root = workspace ?? vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
    return root === undefined
      ? undefined
      : vscode.Uri.joinPath(vscode.Uri.file(root), '.agent', 'runs', `${runId}.jsonl`);
  }

  /** Recent runs: those heard of in this window, then the traces on disk (run ids sort by time). */
  private async pickTrace(): Promise<vscode.Uri | undefined> {
    type TraceItem = vscode.QuickPickItem & { uri: vscode.Uri };
    const items: TraceItem[] = [];
    const seen = new Set<string>();
    for (const run of this.runs.all()) {
      const uri = this.traceUri(run.runId, run.workspace);
      if (uri !== undefined) {
        items.push({ label: run.goal, description: `${runSummary(run)} · ${run.runId}`, uri });
        seen.add(uri.toString());
      }
    }
    for (const folder of vscode.workspace.workspaceFolders ?? []) {
      const dir = vscode.Uri.joinPath(folder.uri, '.agent', 'runs');
      const entries = await Promise.resolve(vscode.workspace.fs.readDirectory(dir)).catch(() => []);
      const traces = entries
        .map(([name]) => name)
        .filter((name) => name.endsWith('.jsonl'))
        .sort()
        .reverse();
      for (const name of traces.slice(0, 50)) {
        const uri = vscode.Uri.joinPath(dir, name);
        if (!seen.has(uri.toString())) {
          items.push({ label: name.replace(/\.jsonl$/, ''), description: folder.name, uri });
        }
      }
    }
    if (items.length === 0) {
      void vscode.window.showInformationMessage('Agent: no trace yet; run a goal first.');
      return undefined;
    }
    return (await vscode.window.showQuickPick(items, { placeHolder: 'Open the trace of which run?' }))?.uri;
  }

  private async revertRun(runId: string | undefined): Promise<void> {
    if (!this.server.offers('agent/revert')) {
      void vscode.window.showInformationMessage('Agent: this agentd does not offer agent/revert yet.');
      return;
    }
    const run =
      runId !== undefined
        ? this.runs.get(runId)
        : await this.pickRun(
            this.runs.all().filter((r) => !isActive(r)),
            'Revert which run?',
          );
    const id = runId ?? run?.runId;
    if (id === undefined) {
      return;
    }
    try {
      const workspace = run?.workspace;
      const result = await this.server.request<RevertResult>('agent/revert', {
        runId: id,
        ...(workspace ? { workspace } : {}),
      });
      const conflicts =
        result.conflicts.length > 0 ? `; changed since, left alone: ${result.conflicts.join(', ')}` : '';
      const show =
        result.conflicts.length > 0 ? vscode.window.showWarningMessage : vscode.window.showInformationMessage;
      void show(`Agent: reverted ${id}: ${result.restored.length} file(s) restored${conflicts}`);
    } catch (error) {
      void vscode.window.showErrorMessage(`Agent: could not revert ${id}: ${String(error)}`);
    }
  }

  private async setApiKey(): Promise<void> {
    const key = await vscode.window.showInputBox({
      title: 'Agent: Set API Key',
      prompt:
        "The key for the openai planner, kept in VS Code's secret storage and given to the server as OPENAI_API_KEY. Empty removes it.",
      password: true,
      ignoreFocusOut: true,
    });
    if (key === undefined) {
      return;
    }
    if (key.trim() === '') {
      await this.secrets.delete(SECRET_API_KEY);
    } else {
      await this.secrets.store(SECRET_API_KEY, key.trim());
    }
    // The key reaches the server through its environment, so it takes a restart.
    if (this.server.state === 'running' || this.server.state === 'failed') {
      await this.server.restart();
    }
    void vscode.window.showInformationMessage(
      key.trim() === '' ? 'Agent: API key removed.' : 'Agent: API key stored; the server uses it now.',
    );
  }

  /** The status bar's menu: cancel or show each running run. */
  private async showRuns(): Promise<void> {
    type MenuItem = vscode.QuickPickItem & { act: () => unknown };
    const items: MenuItem[] = this.runs.active().flatMap((run): MenuItem[] => [
      {
        label: `$(debug-stop) Cancel ${run.goal}`,
        description: `${runSummary(run)} · ${run.runId}`,
        act: () => this.launcher.cancel(run.runId),
      },
      { label: `$(output) Show ${run.goal}`, description: run.runId, act: () => this.output.show(true) },
    ]);
    items.push({
      label: '$(list-tree) Show Agent Runs',
      act: () => vscode.commands.executeCommand('agentd.runs.focus'),
    });
    if (this.server.state !== 'running') {
      items.push({
        label: '$(debug-restart) Restart the agentd server',
        description: this.server.state,
        act: () => this.server.restart(),
      });
    }
    const chosen = await vscode.window.showQuickPick(items, { placeHolder: 'Agent runs' });
    await chosen?.act();
  }

  private async openStepOutput(node: RunNode | undefined): Promise<void> {
    if (node?.type !== 'step') {
      return;
    }
    const uri = vscode.Uri.from({ scheme: 'agentd-output', path: `/${node.runId}/${node.stepId}.log` });
    await vscode.window.showTextDocument(uri, { preview: true });
  }

  private async rerunStep(node: RunNode | undefined): Promise<RunResult | undefined> {
    if (node?.type !== 'step') {
      return undefined;
    }
    return this.launcher.rerunStep(node.runId, node.stepId, this.runs.get(node.runId)?.workspace);
  }
}

/** The workspace to run in: the only folder, the active editor's, or the user's pick; null = cancelled. */
async function pickWorkspace(): Promise<string | undefined | null> {
  const folders = vscode.workspace.workspaceFolders ?? [];
  if (folders.length <= 1) {
    return folders[0]?.uri.fsPath;
  }
  const active = vscode.window.activeTextEditor?.document.uri;
  const owner = active ? vscode.workspace.getWorkspaceFolder(active) : undefined;
  if (owner !== undefined) {
    return owner.uri.fsPath;
  }
  const picked = await vscode.window.showWorkspaceFolderPick({ placeHolder: 'Run the goal in which folder?' });
  return picked === undefined ? null : picked.uri.fsPath;
}
