import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { KEEP_FINISHED, RunStore, type RunEvent } from '../../src/runs';
import type { RunResult } from '../../src/wire';
import { stepResult } from './fixtures';

function store(): { runs: RunStore; events: RunEvent['kind'][] } {
  let now = 1000;
  const runs = new RunStore(() => (now += 10));
  const events: RunEvent['kind'][] = [];
  runs.onDidChange((event) => events.push(event.kind));
  return { runs, events };
}

function result(runId: string, overrides: Partial<RunResult> = {}): RunResult {
  return {
    runId,
    goal: 'demo.test',
    planner: 'stub',
    status: 'succeeded',
    steps: ['echo hi'],
    deliverables: [],
    bits: { t: 0.9 },
    results: [stepResult({ status: 'succeeded', stdout: 'hi\n' })],
    trace: `.agent/runs/${runId}.jsonl`,
    ...overrides,
  };
}

describe('RunStore', () => {
  it('follows a run of its own from runStarted to its RunResult', () => {
    const { runs, events } = store();
    runs.expectOwn('tok-1', '/ws');
    const run = runs.started({ runId: 'r1', goal: 'demo.test', workDoneToken: 'tok-1' });
    assert.equal(run.own, true);
    assert.equal(run.workspace, '/ws');
    assert.equal(runs.byToken('tok-1'), run);
    runs.planReady({ runId: 'r1', planner: 'stub', steps: [stepResult()] });
    assert.equal(run.phase, 'running');
    runs.stepUpdated({ runId: 'r1', step: stepResult({ status: 'running' }) });
    runs.outputDelta({ runId: 'r1', stepId: 's1', stream: 'stdout', text: 'h' });
    assert.equal(run.output.get('s1')?.stdout, 'h');
    runs.stepUpdated({ runId: 'r1', step: stepResult({ status: 'succeeded', stdout: 'hi\n' }) });
    assert.equal(run.output.get('s1')?.stdout, 'hi\n', 'the final StepResult replaces the deltas');
    assert.deepEqual(runs.active(), [run]);
    runs.resulted(result('r1'));
    assert.equal(run.phase, 'succeeded');
    assert.equal(run.trust, 0.9);
    assert.deepEqual(runs.active(), []);
    assert.deepEqual(events, ['started', 'planned', 'step', 'output', 'step', 'finished']);
  });

  it('tells runs started otherwise (another token, or none) from its own', () => {
    const { runs } = store();
    runs.expectOwn('mine', '/ws');
    assert.equal(runs.started({ runId: 'a', goal: 'g', workDoneToken: 'agentd-run-1' }).own, false);
    assert.equal(runs.started({ runId: 'b', goal: 'g', workDoneToken: null }).own, false);
    const mine = runs.started({ runId: 'c', goal: 'g', workDoneToken: 'mine' });
    assert.equal(mine.own, true);
    assert.equal(mine.dryRun, false);
    runs.expectOwn('plan', '/ws', true);
    assert.equal(runs.started({ runId: 'd', goal: 'g', workDoneToken: 'plan' }).dryRun, true);
    assert.equal(runs.byToken('agentd-run-1'), undefined);
  });

  it('finishes a run once: the first outcome wins, later ones are ignored', () => {
    const { runs, events } = store();
    runs.started({ runId: 'r', goal: 'g', workDoneToken: null });
    runs.finish('r', { status: 'cancelled', error: 'stopped' });
    runs.finish('r', { status: 'succeeded', trust: 0.9 });
    assert.equal(runs.get('r')?.phase, 'cancelled');
    assert.equal(events.filter((kind) => kind === 'finished').length, 1);
  });

  it('ignores notifications of runs it never heard of', () => {
    const { runs, events } = store();
    runs.planReady({ runId: 'x', planner: 'stub', steps: [] });
    runs.stepUpdated({ runId: 'x', step: stepResult() });
    runs.outputDelta({ runId: 'x', stepId: 's1', stream: 'stderr', text: 'boom' });
    runs.progress('x', 'planning');
    assert.deepEqual(events, []);
  });

  it('marks every active run cancelled when the server stops', () => {
    const { runs } = store();
    runs.started({ runId: 'a', goal: 'g', workDoneToken: null });
    runs.started({ runId: 'b', goal: 'g', workDoneToken: null });
    runs.finish('b', { status: 'succeeded' });
    runs.serverStopped('the server stopped');
    assert.equal(runs.get('a')?.phase, 'cancelled');
    assert.equal(runs.get('a')?.error, 'the server stopped');
    assert.equal(runs.get('b')?.phase, 'succeeded');
  });

  it(`keeps the ${KEEP_FINISHED} newest finished runs, and every active one`, () => {
    const { runs } = store();
    runs.started({ runId: 'active', goal: 'g', workDoneToken: null });
    for (let index = 0; index < KEEP_FINISHED + 5; index += 1) {
      runs.started({ runId: `done-${index}`, goal: 'g', workDoneToken: null });
      runs.finish(`done-${index}`, { status: 'succeeded' });
    }
    runs.started({ runId: 'last', goal: 'g', workDoneToken: null });
    assert.ok(runs.get('active'));
    assert.equal(runs.get('done-0'), undefined);
    assert.ok(runs.get(`done-${KEEP_FINISHED + 4}`));
    assert.equal(runs.all()[0]?.runId, 'last', 'newest first');
  });
});
