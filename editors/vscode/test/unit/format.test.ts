import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatDuration, stepDescription, stepLabel } from '../../src/format';
import { stepResult } from './fixtures';

describe('format', () => {
  it('formats durations for people', () => {
    assert.equal(formatDuration(12), '12 ms');
    assert.equal(formatDuration(1500), '1.5 s');
    assert.equal(formatDuration(60_000), '1 min');
    assert.equal(formatDuration(90_000), '1 min 30 s');
  });

  it('describes a step by status, risk, duration and a non-zero exit code', () => {
    assert.equal(stepDescription(stepResult()), 'pending · risk low');
    assert.equal(
      stepDescription(stepResult({ status: 'succeeded', durationMs: 20, exitCode: 0 })),
      'succeeded · risk low · 20 ms',
    );
    assert.equal(
      stepDescription(stepResult({ status: 'failed', durationMs: 2000, exitCode: 3 })),
      'failed · risk low · 2.0 s · exit 3',
    );
  });

  it('labels a step by id and first line, shortened', () => {
    assert.equal(stepLabel(stepResult({ cmd: 'make\nmake test' })), 's1: make …');
    assert.equal(stepLabel(stepResult({ cmd: 'x'.repeat(100) }), 10), `s1: ${'x'.repeat(9)}…`);
    assert.equal(
      stepLabel(stepResult({ kind: 'writeFile', cmd: undefined, path: 'out/a.txt' })),
      's1: write out/a.txt',
    );
  });
});
