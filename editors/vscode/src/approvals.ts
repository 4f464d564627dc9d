// Approvals (`agent/requestPermission`): what the prompt says, and a queue that shows one prompt at
// a time, so that parallel steps asking at once wait in line instead of piling up. Pure.
import { formatDuration } from './format';
import { stepLine, type PermissionOption, type RequestPermissionParams, type RequestPermissionResult } from './wire';

/** Buttons in this order, by option kind; "Reject always" stays out of a three-button prompt. */
const BUTTON_KINDS: PermissionOption['kind'][] = ['allow_once', 'allow_always', 'reject_once'];
const DEFAULT_NAMES: Record<PermissionOption['kind'], string> = {
  allow_once: 'Allow once',
  allow_always: 'Allow always',
  reject_once: 'Reject',
  reject_always: 'Reject always',
};

export interface ApprovalPrompt {
  readonly runId: string;
  readonly stepId: string;
  /** One line: what is asked. */
  readonly message: string;
  /** The command, its risk and reasons, when the prompt times out, how many more wait. */
  readonly detail: string;
  readonly buttons: readonly { label: string; optionId: string }[];
}

export function approvalPrompt(
  params: RequestPermissionParams,
  timeoutMs: number | undefined,
  askedAt: Date,
  waiting: number,
): ApprovalPrompt {
  const { step, risk } = params;
  const what = step.kind === 'runCli' ? 'run a command' : `write ${step.path ?? 'a file'}`;
  const detail: string[] = [];
  detail.push(step.kind === 'runCli' ? `$ ${stepLine(step)}` : stepLine(step));
  detail.push('');
  detail.push(`Risk: ${risk.level}`);
  for (const reason of risk.reasons) {
    detail.push(`  • ${reason}`);
  }
  detail.push('');
  detail.push(`Run ${params.runId}, step ${step.id}.`);
  if (timeoutMs !== undefined) {
    const deadline = new Date(askedAt.getTime() + timeoutMs);
    detail.push(`Unanswered, it is rejected at ${clock(deadline)} (approval timeout ${formatDuration(timeoutMs)}).`);
  }
  if (waiting > 0) {
    detail.push(`${waiting} more approval${waiting === 1 ? '' : 's'} waiting.`);
  }
  const buttons = BUTTON_KINDS.flatMap((kind) => {
    const option = params.options.find((offered) => offered.kind === kind);
    return option === undefined ? [] : [{ label: option.name || DEFAULT_NAMES[kind], optionId: option.optionId }];
  });
  return {
    runId: params.runId,
    stepId: step.id,
    message: `agentd asks to ${what} (risk ${risk.level})`,
    detail: detail.join('\n'),
    buttons,
  };
}

function clock(date: Date): string {
  return [date.getHours(), date.getMinutes(), date.getSeconds()].map((n) => String(n).padStart(2, '0')).join(':');
}

/** The answer for a chosen optionId; no choice (Escape, Cancel, the dialog closed) is `cancelled`. */
export function permissionResult(optionId: string | undefined): RequestPermissionResult {
  return optionId === undefined ? { outcome: 'cancelled' } : { outcome: 'selected', optionId };
}

/** Shows a prompt and resolves with the chosen optionId, or undefined. */
export type Presenter = (prompt: ApprovalPrompt) => Promise<string | undefined>;

/** The part of a CancellationToken the queue uses (the server withdraws a request on timeout). */
export interface Withdrawal {
  readonly isCancellationRequested: boolean;
  onCancellationRequested(listener: () => void): { dispose(): void };
}

interface Pending {
  params: RequestPermissionParams;
  withdrawal: Withdrawal;
  resolve: (result: RequestPermissionResult) => void;
}

export class ApprovalQueue {
  private readonly pending: Pending[] = [];
  private showing = false;

  constructor(
    public presenter: Presenter,
    private readonly timeoutMs: () => number | undefined,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** How many requests wait (the one on screen not included). */
  get waiting(): number {
    return this.pending.length;
  }

  ask(params: RequestPermissionParams, withdrawal: Withdrawal): Promise<RequestPermissionResult> {
    return new Promise((resolve) => {
      const entry: Pending = { params, withdrawal, resolve };
      this.pending.push(entry);
      // A request withdrawn while it waits is answered at once and never shown.
      const subscription = withdrawal.onCancellationRequested(() => {
        const index = this.pending.indexOf(entry);
        if (index >= 0) {
          this.pending.splice(index, 1);
          resolve({ outcome: 'cancelled' });
        }
        subscription.dispose();
      });
      void this.next();
    });
  }

  private async next(): Promise<void> {
    if (this.showing) {
      return;
    }
    const entry = this.pending.shift();
    if (entry === undefined) {
      return;
    }
    this.showing = true;
    try {
      if (entry.withdrawal.isCancellationRequested) {
        entry.resolve({ outcome: 'cancelled' });
        return;
      }
      const prompt = approvalPrompt(entry.params, this.timeoutMs(), this.now(), this.pending.length);
      let choice: string | undefined;
      try {
        choice = await this.presenter(prompt);
      } catch {
        choice = undefined; // a prompt that failed answers "cancelled": the step is rejected
      }
      entry.resolve(permissionResult(choice));
    } finally {
      this.showing = false;
      void this.next();
    }
  }
}
