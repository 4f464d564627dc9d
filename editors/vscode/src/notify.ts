// What a run shows while it goes and when it ends: a cancellable progress notification per run
// (its own `window.withProgress`, also for runs started otherwise, e.g. by a code action), the
// outcome as a message with the next useful actions, and each step's output as a live document.
import * as vscode from 'vscode';
import { runSummary } from './format';
import type { Run, RunStore } from './runs';
import { stepLine } from './wire';

/** Percentage of the run's steps that have finished. */
function percentDone(run: Run): number {
  if (run.steps.length === 0) {
    return 0;
  }
  const done = run.steps.filter((step) => !['pending', 'awaitingApproval', 'running'].includes(step.status));
  return Math.round((100 * done.length) / run.steps.length);
}

export function showRunProgress(runs: RunStore, cancel: (runId: string) => Promise<unknown>): vscode.Disposable {
  return runs.onDidChange((event) => {
    if (event.kind !== 'started' || event.run.dryRun) {
      return; // a dry run of ours shows its plan when it is ready: a progress toast is noise
    }
    const { run } = event;
    void vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `Agent: ${run.goal}`, cancellable: true },
      (progress, token) =>
        new Promise<void>((resolve) => {
          let reported = 0;
          const subscription = runs.onDidChange((change) => {
            if (change.run !== run || change.kind === 'output') {
              return;
            }
            if (change.kind === 'finished') {
              subscription.dispose();
              resolve();
              return;
            }
            const percent = percentDone(run);
            progress.report({ message: run.progress ?? runSummary(run), increment: percent - reported });
            reported = percent;
          });
          token.onCancellationRequested(() => void cancel(run.runId));
          progress.report({ message: 'planning' });
        }),
    );
  });
}

/** The outcome of a run that executed (dry runs show their plan instead). */
export function announceOutcomes(runs: RunStore, output: vscode.OutputChannel): vscode.Disposable {
  return runs.onDidChange((event) => {
    if (event.kind === 'finished' && event.run.phase !== 'planned') {
      void announce(event.run, output);
    }
  });
}

async function announce(run: Run, output: vscode.OutputChannel): Promise<void> {
  const text = `Agent: ${run.goal} ${runSummary(run)}`;
  const actions: Record<string, () => unknown> = {};
  const deliverable = run.deliverables[0];
  if (run.phase === 'succeeded' && deliverable !== undefined && run.workspace !== undefined) {
    const uri = vscode.Uri.joinPath(vscode.Uri.file(run.workspace), deliverable);
    actions[`Open ${deliverable}`] = () => vscode.window.showTextDocument(uri);
  }
  if (run.phase === 'failed') {
    actions['Show Problems'] = () => vscode.commands.executeCommand('workbench.actions.view.problems');
  }
  actions['Show Output'] = () => output.show(true);
  actions['Show Trace'] = () => vscode.commands.executeCommand('agentd.showTrace', run.runId);
  const show =
    run.phase === 'succeeded'
      ? vscode.window.showInformationMessage
      : run.phase === 'failed'
        ? vscode.window.showErrorMessage
        : vscode.window.showWarningMessage;
  const choice = await show(text, ...Object.keys(actions));
  if (choice !== undefined) {
    await actions[choice]?.();
  }
}

/** `agentd-output:/<runId>/<stepId>.log`: a step's output, updated live while it streams. */
export class StepOutputDocuments implements vscode.TextDocumentContentProvider {
  static readonly scheme = 'agentd-output';
  private readonly changed = new vscode.EventEmitter<vscode.Uri>();
  readonly onDidChange = this.changed.event;

  constructor(private readonly runs: RunStore) {
    runs.onDidChange((event) => {
      const stepIds = event.kind === 'output' ? [event.stepId] : event.kind === 'step' ? [event.step.id] : [];
      for (const stepId of stepIds) {
        this.changed.fire(
          vscode.Uri.from({ scheme: StepOutputDocuments.scheme, path: `/${event.run.runId}/${stepId}.log` }),
        );
      }
    });
  }

  provideTextDocumentContent(uri: vscode.Uri): string {
    const [, runId = '', file = ''] = uri.path.split('/');
    const stepId = file.replace(/\.log$/, '');
    const run = this.runs.get(runId);
    const step = run?.steps.find((known) => known.id === stepId);
    if (run === undefined || step === undefined) {
      return `No output of step ${stepId} of run ${runId} is known in this window; see its trace.\n`;
    }
    const output = run.output.get(stepId) ?? { stdout: '', stderr: '' };
    const lines = [
      `# ${run.goal} (${run.runId}), step ${step.id}: ${step.status}`,
      `# ${stepLine(step)}`,
      `# risk ${step.risk.level}, ${step.decision}${step.exitCode === null ? '' : `, exit code ${step.exitCode}`}`,
    ];
    if (step.truncated) {
      lines.push(`# output truncated: the whole of it is in .agent/runs/${run.runId}/`);
    }
    lines.push('', '## stdout', output.stdout, '', '## stderr', output.stderr);
    return lines.join('\n');
  }

  dispose(): void {
    this.changed.dispose();
  }
}
