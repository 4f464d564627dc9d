// Wire-shaped values for the unit tests.
import type { RequestPermissionParams, StepResult } from '../../src/wire';

export function stepResult(overrides: Partial<StepResult> = {}): StepResult {
  return {
    id: 's1',
    kind: 'runCli',
    cmd: 'echo hi',
    after: [],
    risk: { level: 'low', reasons: ['echo: reads only (low)'] },
    decision: 'allow',
    approvedBy: null,
    status: 'pending',
    exitCode: null,
    stdout: '',
    stderr: '',
    truncated: false,
    durationMs: 0,
    ...overrides,
  };
}

export function permissionRequest(stepId: string, runId = 'run-1'): RequestPermissionParams {
  return {
    runId,
    step: stepResult({ id: stepId, kind: 'writeFile', cmd: undefined, path: '.vscode/tasks.json', decision: 'ask' }),
    risk: { level: 'high', reasons: ['write .vscode/tasks.json: an editor or CI runs this file (high)'] },
    options: [
      { optionId: 'allow_once', name: 'Allow once', kind: 'allow_once' },
      { optionId: 'allow_always', name: 'Allow always', kind: 'allow_always' },
      { optionId: 'reject_once', name: 'Reject', kind: 'reject_once' },
      { optionId: 'reject_always', name: 'Reject always', kind: 'reject_always' },
    ],
  };
}
