import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { remainder, RunLog } from '../../src/log';
import { RunStore } from '../../src/runs';
import { stepResult } from './fixtures';

function logged(): { runs: RunStore; text: () => string } {
  const runs = new RunStore(() => 0);
  let text = '';
  const log = new RunLog((chunk) => (text += chunk));
  runs.onDidChange((event) => log.handle(event));
  return { runs, text: () => text };
}

describe('remainder', () => {
  it('is what the final text adds to what was shown', () => {
    assert.equal(remainder('ab', 'abcd'), 'cd');
    assert.equal(remainder('', 'x'), 'x');
  });

  it('is the whole final text when what was shown is not a prefix of it', () => {
    assert.equal(remainder('zz', 'abcd'), 'abcd');
  });
});

describe('RunLog', () => {
  it('writes one line per step change and each output line once, prefixed with its step', () => {
    const { runs, text } = logged();
    runs.started({ runId: 'r', goal: 'swe.test', workDoneToken: null });
    runs.planReady({ runId: 'r', planner: 'stub', steps: [stepResult({ cmd: 'pytest -q' })] });
    runs.stepUpdated({ runId: 'r', step: stepResult({ cmd: 'pytest -q', status: 'running' }) });
    runs.outputDelta({ runId: 'r', stepId: 's1', stream: 'stdout', text: 'collected 2 items\n..' });
    runs.outputDelta({ runId: 'r', stepId: 's1', stream: 'stdout', text: 'F' });
    runs.stepUpdated({
      runId: 'r',
      step: stepResult({
        cmd: 'pytest -q',
        status: 'failed',
        exitCode: 1,
        durationMs: 1500,
        stdout: 'collected 2 items\n..F\n1 failed\n',
        stderr: 'oops',
      }),
    });
    runs.finish('r', { status: 'failed', trust: 0 });
    assert.equal(
      text(),
      [
        '[r] swe.test: started',
        '[r] planned 1 step(s) with stub',
        '[r] s1 running · risk low: pytest -q',
        '  s1 | collected 2 items',
        '  s1 | ..F',
        '  s1 | 1 failed',
        '  s1 ! oops',
        '[r] s1 failed · risk low · 1.5 s · exit 1: pytest -q',
        '[r] swe.test (r) failed: 0/1 step succeeded, trust 0',
        '',
      ].join('\n'),
    );
  });

  it('flushes a last line without newline when the run ends, even without a final step update', () => {
    const { runs, text } = logged();
    runs.started({ runId: 'r', goal: 'g', workDoneToken: null });
    runs.planReady({ runId: 'r', planner: 'stub', steps: [stepResult()] });
    runs.outputDelta({ runId: 'r', stepId: 's1', stream: 'stdout', text: 'half a line' });
    assert.ok(!text().includes('half a line'), 'an unfinished line waits');
    runs.serverStopped('the server stopped');
    assert.match(
      text(),
      / {2}s1 \| half a line\n\[r\] g \(r\) cancelled: 0\/1 step succeeded \(the server stopped\)\n$/,
    );
  });
});
