import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  approvalPrompt,
  ApprovalQueue,
  permissionResult,
  type ApprovalPrompt,
  type Withdrawal,
} from '../../src/approvals';
import { permissionRequest } from './fixtures';

/** A CancellationToken stand-in that the test withdraws by hand. */
function withdrawal(): Withdrawal & { withdraw(): void } {
  const listeners: (() => void)[] = [];
  const token = {
    isCancellationRequested: false,
    onCancellationRequested(listener: () => void) {
      listeners.push(listener);
      return { dispose: () => listeners.splice(listeners.indexOf(listener), 1) };
    },
    withdraw() {
      token.isCancellationRequested = true;
      for (const listener of [...listeners]) {
        listener();
      }
    },
  };
  return token;
}

/** A presenter that records prompts and answers when the test says so. */
function manualPresenter(): {
  prompts: ApprovalPrompt[];
  answer(optionId?: string): void;
  present(p: ApprovalPrompt): Promise<string | undefined>;
} {
  const answers: ((optionId?: string) => void)[] = [];
  const prompts: ApprovalPrompt[] = [];
  return {
    prompts,
    answer: (optionId) => answers.shift()?.(optionId),
    present: (prompt) =>
      new Promise((resolve) => {
        prompts.push(prompt);
        answers.push(resolve);
      }),
  };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('approvalPrompt', () => {
  it('shows the command, the risk and its reasons, the deadline, and who else waits', () => {
    const prompt = approvalPrompt(permissionRequest('tasks'), 60_000, new Date(2026, 0, 1, 12, 0, 30), 2);
    assert.equal(prompt.message, 'agentd asks to write .vscode/tasks.json (risk high)');
    assert.equal(
      prompt.detail,
      [
        'write .vscode/tasks.json',
        '',
        'Risk: high',
        '  • write .vscode/tasks.json: an editor or CI runs this file (high)',
        '',
        'Run run-1, step tasks.',
        'Unanswered, it is rejected at 12:01:30 (approval timeout 1 min).',
        '2 more approvals waiting.',
      ].join('\n'),
    );
    assert.deepEqual(prompt.buttons, [
      { label: 'Allow once', optionId: 'allow_once' },
      { label: 'Allow always', optionId: 'allow_always' },
      { label: 'Reject', optionId: 'reject_once' },
    ]);
  });

  it('shows a command as `$ cmd` and leaves out the deadline when the timeout is unknown', () => {
    const request = permissionRequest('s1');
    request.step = { ...request.step, kind: 'runCli', cmd: 'setsid true', path: undefined };
    const prompt = approvalPrompt(request, undefined, new Date(), 0);
    assert.equal(prompt.message, 'agentd asks to run a command (risk high)');
    assert.match(prompt.detail, /^\$ setsid true\n/);
    assert.doesNotMatch(prompt.detail, /rejected at|waiting/);
  });

  it('offers only the options the server offered', () => {
    const request = permissionRequest('s1');
    request.options = request.options.filter((option) => option.kind !== 'allow_always');
    assert.deepEqual(
      approvalPrompt(request, 1000, new Date(), 0).buttons.map((button) => button.label),
      ['Allow once', 'Reject'],
    );
  });
});

describe('permissionResult', () => {
  it('is the chosen option, or cancelled when nothing was chosen', () => {
    assert.deepEqual(permissionResult('reject_once'), { outcome: 'selected', optionId: 'reject_once' });
    assert.deepEqual(permissionResult(undefined), { outcome: 'cancelled' });
  });
});

describe('ApprovalQueue', () => {
  it('shows one prompt at a time, in order, telling how many more wait', async () => {
    const presenter = manualPresenter();
    const queue = new ApprovalQueue(
      (prompt) => presenter.present(prompt),
      () => 60_000,
    );
    const first = queue.ask(permissionRequest('a'), withdrawal());
    const second = queue.ask(permissionRequest('b'), withdrawal());
    const third = queue.ask(permissionRequest('c'), withdrawal());
    await tick();
    assert.deepEqual(
      presenter.prompts.map((prompt) => prompt.stepId),
      ['a'],
    );
    presenter.answer('allow_once');
    assert.deepEqual(await first, { outcome: 'selected', optionId: 'allow_once' });
    await tick();
    assert.deepEqual(
      presenter.prompts.map((prompt) => prompt.stepId),
      ['a', 'b'],
    );
    // A prompt on screen cannot change, so the count is the one when it was shown.
    assert.match(presenter.prompts[1]?.detail ?? '', /1 more approval waiting/);
    presenter.answer('reject_once');
    assert.deepEqual(await second, { outcome: 'selected', optionId: 'reject_once' });
    await tick();
    assert.doesNotMatch(presenter.prompts[2]?.detail ?? '', /waiting/);
    presenter.answer(undefined);
    assert.deepEqual(await third, { outcome: 'cancelled' });
  });

  it('answers a request withdrawn while it waits at once, and never shows it', async () => {
    const presenter = manualPresenter();
    const queue = new ApprovalQueue(
      (prompt) => presenter.present(prompt),
      () => undefined,
    );
    const first = queue.ask(permissionRequest('a'), withdrawal());
    const token = withdrawal();
    const second = queue.ask(permissionRequest('b'), token);
    token.withdraw();
    assert.deepEqual(await second, { outcome: 'cancelled' });
    assert.equal(queue.waiting, 0);
    presenter.answer('reject_once');
    await first;
    await tick();
    assert.deepEqual(
      presenter.prompts.map((prompt) => prompt.stepId),
      ['a'],
    );
  });

  it('answers cancelled (the step is rejected) when the prompt itself fails, and goes on', async () => {
    let calls = 0;
    const queue = new ApprovalQueue(
      (prompt) => {
        calls += 1;
        return prompt.stepId === 'a' ? Promise.reject(new Error('no window')) : Promise.resolve('allow_once');
      },
      () => undefined,
    );
    assert.deepEqual(await queue.ask(permissionRequest('a'), withdrawal()), { outcome: 'cancelled' });
    assert.deepEqual(await queue.ask(permissionRequest('b'), withdrawal()), {
      outcome: 'selected',
      optionId: 'allow_once',
    });
    assert.equal(calls, 2);
  });
});
