// How runs and steps read in the views, the "Agent" output channel and messages. Pure.
import type { Run } from './runs';
import { stepLine, type StepResult } from './wire';

export function formatDuration(ms: number): string {
  if (ms < 1000) {
    return `${ms} ms`;
  }
  if (ms < 60_000) {
    return `${(ms / 1000).toFixed(1)} s`;
  }
  const minutes = Math.floor(ms / 60_000);
  const seconds = Math.round((ms % 60_000) / 1000);
  return seconds === 0 ? `${minutes} min` : `${minutes} min ${seconds} s`;
}

/** `status · risk level · duration` of a step, as the tree and the output channel show it. */
export function stepDescription(step: StepResult): string {
  const parts = [step.status, `risk ${step.risk.level}`];
  if (step.status !== 'pending' && step.status !== 'planned' && step.durationMs > 0) {
    parts.push(formatDuration(step.durationMs));
  }
  if (step.exitCode !== null && step.exitCode !== 0) {
    parts.push(`exit ${step.exitCode}`);
  }
  return parts.join(' · ');
}

/** One line on a run's outcome, e.g. `succeeded: 3/3 steps succeeded, trust 0.9`. */
export function runSummary(run: Run): string {
  if (run.phase === 'planning') {
    return 'planning';
  }
  const total = run.steps.length;
  if (run.phase === 'running') {
    const done = run.steps.filter((step) => !['pending', 'awaitingApproval', 'running'].includes(step.status)).length;
    return `${done}/${total} step${total === 1 ? '' : 's'} done`;
  }
  if (run.phase === 'planned') {
    return `planned: ${total} step${total === 1 ? '' : 's'}`;
  }
  const succeeded = run.steps.filter((step) => step.status === 'succeeded').length;
  let line = `${run.phase}: ${succeeded}/${total} step${total === 1 ? '' : 's'} succeeded`;
  if (run.trust !== undefined) {
    line += `, trust ${run.trust}`;
  }
  if (run.error) {
    line += ` (${run.error})`;
  }
  return line;
}

/** A run's name in pickers and messages: `goal (runId)`. */
export function runLabel(run: Pick<Run, 'goal' | 'runId'>): string {
  return `${run.goal} (${run.runId})`;
}

/** The step's line shortened for a label (multi-line commands keep their first line). */
export function stepLabel(step: StepResult, max = 80): string {
  const line = stepLine(step).split('\n')[0] ?? '';
  const multiLine = stepLine(step).includes('\n');
  const text = line.length > max ? `${line.slice(0, max - 1)}…` : line;
  return `${step.id}: ${text}${multiLine && line.length <= max ? ' …' : ''}`;
}
