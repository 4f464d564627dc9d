// Starting, cancelling and re-running runs through the server, for the palette commands, the tree
// and the notifications alike.
import { randomUUID } from 'node:crypto';
import * as vscode from 'vscode';
import { ErrorCodes, ResponseError } from 'vscode-languageclient/node';
import { SERVER_STOPPED, type RunStore } from './runs';
import type { AgentServer } from './server';
import type { RunGoalParams, RunResult, TraceRecord, TraceResult } from './wire';

/** An error the server answered, as opposed to the connection failing (vscode-jsonrpc's own codes). */
function serverAnswered(error: unknown): boolean {
  const lostConnection = [ErrorCodes.PendingResponseRejected, ErrorCodes.ConnectionInactive] as number[];
  return error instanceof ResponseError && !lostConnection.includes(error.code);
}

export class Launcher {
  constructor(
    private readonly server: AgentServer,
    private readonly runs: RunStore,
  ) {}

  /**
   * Run (or, with `dryRun`, plan) and answer the RunResult; undefined (after an error message)
   * when the server refused or failed. Progress goes to the run's notification through `runs`.
   */
  async run(params: RunGoalParams, dryRun = false): Promise<RunResult | undefined> {
    const token = `agentd-vscode-${randomUUID()}`;
    this.runs.expectOwn(token, params.workspace, dryRun);
    const progress = this.server.onProgress(token, (message) => {
      const run = this.runs.byToken(token);
      if (run !== undefined) {
        this.runs.progress(run.runId, message);
      }
    });
    try {
      const method = dryRun ? 'agent/plan' : 'agent/runGoal';
      const result = await this.server.request<RunResult>(method, { ...params, workDoneToken: token });
      this.runs.resulted(result);
      return result;
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      const run = this.runs.byToken(token);
      if (run !== undefined) {
        // The server ends its runs when its connection goes: those are cancelled, not failed.
        this.runs.finish(
          run.runId,
          serverAnswered(error) ? { status: 'failed', error: message } : { status: 'cancelled', error: SERVER_STOPPED },
        );
      }
      void vscode.window.showErrorMessage(`Agent: ${describe(params)} could not run: ${message}`);
      return undefined;
    } finally {
      progress.dispose();
    }
  }

  async cancel(runId: string): Promise<boolean> {
    try {
      const answer = await this.server.request<{ cancelled: boolean }>('agent/cancel', { runId });
      const run = this.runs.get(runId);
      if (!answer.cancelled && run !== undefined && !run.own) {
        // The server no longer runs it, though we never heard it end (a run started otherwise
        // that failed before its plan sends no diagnostics): its trace says how it ended.
        await this.followFinished(runId, run.workspace);
        this.runs.finish(runId, { status: 'cancelled', error: 'it had ended; see its trace' });
      }
      return answer.cancelled;
    } catch (error) {
      void vscode.window.showErrorMessage(`Agent: could not cancel ${runId}: ${String(error)}`);
      return false;
    }
  }

  async trace(runId: string, workspace: string | undefined): Promise<TraceRecord[]> {
    const result = await this.server.request<TraceResult>('agent/trace', {
      runId,
      ...(workspace ? { workspace } : {}),
    });
    return result.events;
  }

  /** Run the plan of a dry run (or any run) as it was planned, gated again by the server: a
   * replay of its recorded plan (writeFile contents are kept beside the trace, not in it). */
  async runAsPlanned(runId: string, workspace: string | undefined): Promise<RunResult | undefined> {
    return this.run({ planner: 'replay', runId, workspace });
  }

  /** Run one step of an earlier run again, on its own (its `after` no longer applies). */
  async rerunStep(runId: string, stepId: string, workspace: string | undefined): Promise<RunResult | undefined> {
    return this.run({ planner: 'replay', runId, stepIds: [stepId], workspace });
  }

  /** A foreign run's diagnostics arrived: its trace ends with `run.finished`, which says how it went. */
  async followFinished(runId: string, workspace: string | undefined): Promise<void> {
    const run = this.runs.get(runId);
    if (run === undefined || run.own) {
      return;
    }
    run.workspace ??= workspace;
    try {
      const finished = (await this.trace(runId, run.workspace)).find((record) => record.type === 'run.finished');
      if (finished !== undefined) {
        const bits = finished.bits as { t?: number } | undefined;
        this.runs.finish(runId, {
          status: finished.status as RunResult['status'],
          trust: bits?.t,
          deliverables: (finished.deliverables as string[] | undefined) ?? [],
        });
      }
    } catch (error) {
      this.server.log.appendLine(`agentd: reading the trace of ${runId}: ${String(error)}`);
    }
  }
}

/** What a run was asked to do, in a few words. */
function describe(params: RunGoalParams): string {
  if (params.planner === 'replay') {
    return params.stepIds ? `re-run of ${params.stepIds.join(', ')} from ${params.runId}` : `replay of ${params.runId}`;
  }
  return params.goal ?? 'explicit steps';
}
