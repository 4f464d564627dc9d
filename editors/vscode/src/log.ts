// The "Agent" output channel's text: one line per step change, and each step's output streamed
// as it arrives with the step id before every line. Pure: it writes to any `append` sink.
import { runLabel, runSummary, stepDescription } from './format';
import type { Run, RunEvent } from './runs';
import { FINAL_STEP_STATUSES, stepLine, type Stream } from './wire';

/** The part of `final` not yet shown, when `shown` is a prefix of it (deltas are prefixes). */
export function remainder(shown: string, final: string): string {
  return final.startsWith(shown) ? final.slice(shown.length) : final;
}

export class RunLog {
  /** Text of each (run, step, stream) already written, and its unfinished last line. */
  private readonly shown = new Map<string, string>();
  private readonly partial = new Map<string, string>();

  constructor(private readonly append: (text: string) => void) {}

  handle(event: RunEvent): void {
    const { run } = event;
    switch (event.kind) {
      case 'started':
        this.line(`[${run.runId}] ${run.goal}: started`);
        break;
      case 'planned':
        this.line(`[${run.runId}] planned ${run.steps.length} step(s) with ${run.planner ?? 'the planner'}`);
        break;
      case 'step': {
        const { step } = event;
        if (FINAL_STEP_STATUSES.has(step.status)) {
          const output = run.output.get(step.id) ?? { stdout: '', stderr: '' };
          this.stream(run, step.id, 'stdout', output.stdout, true);
          this.stream(run, step.id, 'stderr', output.stderr, true);
        }
        if (step.status !== 'pending') {
          this.line(`[${run.runId}] ${step.id} ${stepDescription(step)}: ${stepLine(step)}`);
        }
        break;
      }
      case 'output': {
        const output = run.output.get(event.stepId);
        this.stream(run, event.stepId, event.stream, output?.[event.stream] ?? '', false);
        break;
      }
      case 'finished':
        for (const step of run.steps) {
          const output = run.output.get(step.id) ?? { stdout: '', stderr: '' };
          this.stream(run, step.id, 'stdout', output.stdout, true);
          this.stream(run, step.id, 'stderr', output.stderr, true);
        }
        this.line(`[${run.runId}] ${runLabel(run)} ${runSummary(run)}`);
        this.forget(run);
        break;
      case 'progress':
        break;
    }
  }

  /** Write what is new in `text` (the whole output so far), line by line; `final` flushes. */
  private stream(run: Run, stepId: string, stream: Stream, text: string, final: boolean): void {
    const key = `${run.runId}\u0000${stepId}\u0000${stream}`;
    const fresh = remainder(this.shown.get(key) ?? '', text);
    this.shown.set(key, text);
    const pending = (this.partial.get(key) ?? '') + fresh;
    const lines = pending.split('\n');
    const last = lines.pop() ?? '';
    const marker = stream === 'stderr' ? '!' : '|';
    for (const line of lines) {
      this.line(`  ${stepId} ${marker} ${line}`);
    }
    if (final && last !== '') {
      this.line(`  ${stepId} ${marker} ${last}`);
      this.partial.delete(key);
    } else {
      this.partial.set(key, last);
    }
  }

  private forget(run: Run): void {
    const prefix = `${run.runId}\u0000`;
    for (const map of [this.shown, this.partial]) {
      for (const key of [...map.keys()]) {
        if (key.startsWith(prefix)) {
          map.delete(key);
        }
      }
    }
  }

  private line(text: string): void {
    this.append(`${text}\n`);
  }
}
