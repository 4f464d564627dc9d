// What the extension knows of every run it hears of (its own and those started otherwise, e.g. by
// a code action), fed by the server's notifications. Pure: the views subscribe to `onDidChange`.
import { Emitter } from './events';
import {
  FINAL_STEP_STATUSES,
  type OutputDeltaParams,
  type PlanReadyParams,
  type RunResult,
  type RunStartedParams,
  type RunStatus,
  type StepResult,
  type StepUpdatedParams,
  type Stream,
} from './wire';

/** `planning` until the plan is ready, `running` until the run ends, then its final status. */
export type RunPhase = 'planning' | 'running' | RunStatus;

export interface StepOutput {
  stdout: string;
  stderr: string;
}

export interface Run {
  readonly runId: string;
  readonly goal: string;
  /** Started by this extension's commands (then `workspace` is known from the start). */
  readonly own: boolean;
  /** A dry run (`agent/plan`) of this extension's: it plans and gates, nothing runs. */
  readonly dryRun: boolean;
  workspace?: string;
  phase: RunPhase;
  planner?: string;
  /** In plan order, each as far as it has got. */
  steps: StepResult[];
  output: Map<string, StepOutput>;
  /** The server's latest progress message. */
  progress?: string;
  startedAt: number;
  finishedAt?: number;
  result?: RunResult;
  trust?: number;
  deliverables: string[];
  /** Why the run could not go on (a request error, the server stopping). */
  error?: string;
}

export type RunEvent =
  | { kind: 'started'; run: Run }
  | { kind: 'planned'; run: Run }
  | { kind: 'step'; run: Run; step: StepResult }
  | { kind: 'output'; run: Run; stepId: string; stream: Stream; text: string }
  | { kind: 'progress'; run: Run }
  | { kind: 'finished'; run: Run };

export interface RunOutcome {
  status: RunStatus;
  trust?: number;
  deliverables?: string[];
  error?: string;
}

/** Why the runs of a server that went away ended (the server cancels its runs as it goes). */
export const SERVER_STOPPED = 'the server stopped';

/** Finished runs kept (with their output) for the views and pickers; older ones are forgotten. */
export const KEEP_FINISHED = 50;

export function isActive(run: Run): boolean {
  return run.phase === 'planning' || run.phase === 'running';
}

export class RunStore {
  private readonly runs = new Map<string, Run>();
  /** workDoneToken -> what is known of the runs this extension is starting. */
  private readonly ownTokens = new Map<string, { workspace?: string; dryRun: boolean }>();
  private readonly tokenOf = new Map<string, string>();
  private readonly changed = new Emitter<RunEvent>();
  readonly onDidChange = this.changed.event;

  constructor(private readonly now: () => number = Date.now) {}

  /** Announce a run this extension is about to start with `token` as its workDoneToken. */
  expectOwn(token: string, workspace: string | undefined, dryRun = false): void {
    this.ownTokens.set(token, { workspace, dryRun });
  }

  /** The run started with `token`, once `agent/runStarted` has told its id. */
  byToken(token: string): Run | undefined {
    return [...this.runs.values()].find((run) => run.own && this.tokenOf.get(run.runId) === token);
  }

  get(runId: string): Run | undefined {
    return this.runs.get(runId);
  }

  /** Every run known, newest first. */
  all(): Run[] {
    return [...this.runs.values()].reverse();
  }

  active(): Run[] {
    return this.all().filter(isActive);
  }

  started(params: RunStartedParams): Run {
    const token = params.workDoneToken === null ? undefined : String(params.workDoneToken);
    const expected = token === undefined ? undefined : this.ownTokens.get(token);
    const own = expected !== undefined;
    const run: Run = {
      runId: params.runId,
      goal: params.goal,
      own,
      dryRun: expected?.dryRun ?? false,
      workspace: expected?.workspace,
      phase: 'planning',
      steps: [],
      output: new Map(),
      startedAt: this.now(),
      deliverables: [],
    };
    if (own && token !== undefined) {
      this.ownTokens.delete(token);
      this.tokenOf.set(run.runId, token);
    }
    this.runs.set(run.runId, run);
    this.forgetOld();
    this.changed.fire({ kind: 'started', run });
    return run;
  }

  planReady(params: PlanReadyParams): void {
    const run = this.runs.get(params.runId);
    if (run === undefined || !isActive(run)) {
      return;
    }
    run.planner = params.planner;
    run.steps = params.steps.map((step) => ({ ...step }));
    run.phase = 'running';
    this.changed.fire({ kind: 'planned', run });
  }

  stepUpdated(params: StepUpdatedParams): void {
    const run = this.runs.get(params.runId);
    if (run === undefined) {
      return;
    }
    const step = { ...params.step };
    const index = run.steps.findIndex((known) => known.id === step.id);
    if (index >= 0) {
      run.steps[index] = step;
    } else {
      run.steps.push(step);
    }
    if (FINAL_STEP_STATUSES.has(step.status)) {
      // The final StepResult carries the whole captured output; the deltas were a prefix of it.
      run.output.set(step.id, { stdout: step.stdout, stderr: step.stderr });
    }
    if (run.phase === 'planning') {
      run.phase = 'running';
    }
    this.changed.fire({ kind: 'step', run, step });
  }

  outputDelta(params: OutputDeltaParams): void {
    const run = this.runs.get(params.runId);
    if (run === undefined) {
      return;
    }
    const output = run.output.get(params.stepId) ?? { stdout: '', stderr: '' };
    output[params.stream] += params.text;
    run.output.set(params.stepId, output);
    this.changed.fire({ kind: 'output', run, stepId: params.stepId, stream: params.stream, text: params.text });
  }

  progress(runId: string, message: string | undefined): void {
    const run = this.runs.get(runId);
    if (run === undefined || message === undefined || !isActive(run)) {
      return;
    }
    run.progress = message;
    this.changed.fire({ kind: 'progress', run });
  }

  /** The run's own answer (the RunResult of `agent/runGoal` or `agent/plan`). */
  resulted(result: RunResult): void {
    const run = this.runs.get(result.runId);
    if (run === undefined) {
      return;
    }
    run.result = result;
    run.steps = result.results.map((step) => ({ ...step }));
    for (const step of result.results) {
      run.output.set(step.id, { stdout: step.stdout, stderr: step.stderr });
    }
    this.finish(result.runId, { status: result.status, trust: result.bits.t, deliverables: result.deliverables });
  }

  /** The run ended: idempotent, the first outcome wins. */
  finish(runId: string, outcome: RunOutcome): void {
    const run = this.runs.get(runId);
    if (run === undefined || !isActive(run)) {
      return;
    }
    run.phase = outcome.status;
    run.trust = outcome.trust;
    run.deliverables = outcome.deliverables ?? [];
    run.error = outcome.error;
    run.finishedAt = this.now();
    this.changed.fire({ kind: 'finished', run });
  }

  /** The server went away: its runs were cancelled with it. */
  serverStopped(reason: string = SERVER_STOPPED): void {
    for (const run of this.active()) {
      this.finish(run.runId, { status: 'cancelled', error: reason });
    }
    this.ownTokens.clear();
  }

  private forgetOld(): void {
    const finished = [...this.runs.values()].filter((run) => !isActive(run));
    for (const run of finished.slice(0, Math.max(0, finished.length - KEEP_FINISHED))) {
      this.runs.delete(run.runId);
      this.tokenOf.delete(run.runId);
    }
  }

  dispose(): void {
    this.changed.dispose();
  }
}
