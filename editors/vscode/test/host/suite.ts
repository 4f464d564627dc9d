// The in-host test cases (issue 7, "Done when"). The workspace is prepared by
// tests/editors/vscode/test_host.py: `.agent/goals.toml` with the goals `asks` (two writes the gate
// asks about) and `failing` (a check printing `src/app.py:1: boom`), and `src/app.py`.
import * as assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { ApprovalPrompt } from '../../src/approvals';
import type { AgentdApi } from '../../src/extension';
import type { Run } from '../../src/runs';
import type { RunResult } from '../../src/wire';

type Test = [string, (api: AgentdApi) => Promise<void>];
export const tests: Test[] = [];
function test(name: string, body: (api: AgentdApi) => Promise<void>): void {
  tests.push([name, body]);
}

const WAIT_MS = 30_000; // bounds for events that must come; never a speed assertion

function workspace(): string {
  const folder = vscode.workspace.workspaceFolders?.[0];
  assert.ok(folder, 'the test workspace is open');
  return folder.uri.fsPath;
}

/** Resolve with `check()` once it is defined, re-checking whenever `onChange` fires. */
function until<T>(
  check: () => T | undefined,
  onChange: (listener: () => void) => vscode.Disposable | { dispose(): void },
  what: string,
  ms = WAIT_MS,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const first = check();
    if (first !== undefined) {
      resolve(first);
      return;
    }
    const timer = setTimeout(() => {
      subscription.dispose();
      reject(new Error(`waited ${ms} ms for ${what}`));
    }, ms);
    const subscription = onChange(() => {
      const value = check();
      if (value !== undefined) {
        clearTimeout(timer);
        subscription.dispose();
        resolve(value);
      }
    });
  });
}

function untilRun(api: AgentdApi, check: (run: Run) => boolean, what: string): Promise<Run> {
  return until(
    () => api.runs.all().find(check),
    (listener) => api.runs.onDidChange(listener),
    what,
  );
}

async function serverRunning(api: AgentdApi): Promise<void> {
  await until(
    () => (api.server.state === 'running' ? true : undefined),
    (listener) => api.server.onDidChangeState(listener),
    'the server to run',
  );
}

/** Pids of processes whose command line contains `marker` (Linux /proc). */
function processesWith(marker: string): number[] {
  const pids: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) {
      continue;
    }
    try {
      const cmdline = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      if (cmdline.includes(marker)) {
        pids.push(Number(entry));
      }
    } catch {
      // the process ended while we looked
    }
  }
  return pids;
}

/** For `until`: re-check every `ms` (for state that has no event, such as /proc). */
function every(ms: number): (listener: () => void) => { dispose(): void } {
  return (listener) => {
    const timer = setInterval(listener, ms);
    return { dispose: () => clearInterval(timer) };
  };
}

async function settle(ms: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, ms));
}

test('the commands exist', async (api) => {
  await serverRunning(api);
  const commands = await vscode.commands.getCommands(true);
  for (const id of [
    'agentd.runGoal',
    'agentd.planGoal',
    'agentd.cancelRun',
    'agentd.showTrace',
    'agentd.revertRun',
    'agentd.restartServer',
    'agentd.setApiKey',
    'agent/runGoal', // registered by vscode-languageclient from executeCommandProvider
  ]) {
    assert.ok(commands.includes(id), `command ${id} is registered`);
  }
});

test('Run Goal on demo.test writes out/hello.txt and shows the result', async (api) => {
  await serverRunning(api);
  const hello = path.join(workspace(), 'out', 'hello.txt');
  fs.rmSync(hello, { force: true });
  const result = await vscode.commands.executeCommand<RunResult>('agentd.runGoal', 'demo.test');
  assert.equal(result.status, 'succeeded');
  assert.deepEqual(result.deliverables, ['out/hello.txt']);
  assert.ok(fs.readFileSync(hello, 'utf8').length > 0, 'out/hello.txt has content');
  const run = api.runs.get(result.runId);
  assert.ok(run, 'the run is in the Agent Runs store');
  assert.equal(run.phase, 'succeeded');
  assert.ok(run.own);
  assert.equal(run.steps[0]?.status, 'succeeded');
  assert.equal(run.trust, 0.9);
});

test("the tree's actions: open a step's output, re-run the step, show the trace", async (api) => {
  await serverRunning(api);
  const first = await vscode.commands.executeCommand<RunResult>('agentd.runGoal', {
    steps: [{ kind: 'runCli', cmd: 'echo agentd-tree-output' }],
  });
  const node = { type: 'step', runId: first.runId, stepId: 's1' };
  await vscode.commands.executeCommand('agentd.openStepOutput', node);
  const output = vscode.window.activeTextEditor?.document;
  assert.equal(output?.uri.scheme, 'agentd-output');
  assert.match(output.getText(), /step s1: succeeded/);
  assert.match(output.getText(), /## stdout\nagentd-tree-output\n/);

  const again = await vscode.commands.executeCommand<RunResult>('agentd.rerunStep', node);
  assert.notEqual(again.runId, first.runId);
  assert.equal(again.status, 'succeeded');
  assert.deepEqual(again.steps, ['echo agentd-tree-output']);

  await vscode.commands.executeCommand('agentd.showTrace', { type: 'run', runId: again.runId });
  assert.equal(vscode.window.activeTextEditor?.document.uri.fsPath, path.join(workspace(), again.trace));
});

test('Plan Goal shows each step with its risk and decision, and nothing runs', async (api) => {
  await serverRunning(api);
  fs.rmSync(path.join(workspace(), '.vscode'), { recursive: true, force: true });
  const result = await vscode.commands.executeCommand<RunResult>('agentd.planGoal', 'asks');
  assert.equal(result.status, 'planned');
  assert.deepEqual(
    result.results.map((step) => [step.id, step.decision, step.risk.level]),
    [
      ['tasks', 'ask', 'high'],
      ['launch', 'ask', 'high'],
    ],
  );
  assert.ok(!fs.existsSync(path.join(workspace(), '.vscode', 'tasks.json')), 'a dry run writes nothing');
});

test('Cancel stops a long run and leaves no process', async (api) => {
  await serverRunning(api);
  const canary = `agentd-canary-${randomUUID()}`;
  const running = vscode.commands.executeCommand<RunResult>('agentd.runGoal', {
    steps: [{ kind: 'runCli', cmd: `sleep 600 && echo ${canary}` }],
  });
  const run = await untilRun(
    api,
    (r) => r.steps.some((step) => step.cmd?.includes(canary) && step.status === 'running'),
    'the long step to run',
  );
  // The step's process exists (so that its absence later means something); `running` is sent
  // as it is spawned, so its command line may take a moment to become the step's.
  await until(() => (processesWith(canary).length > 0 ? true : undefined), every(100), `a process with ${canary}`);
  assert.equal(await vscode.commands.executeCommand<boolean>('agentd.cancelRun', run.runId), true);
  const result = await running;
  assert.equal(result.status, 'cancelled');
  assert.equal(result.results[0]?.status, 'cancelled');
  await until(
    () => (processesWith(canary).length === 0 ? true : undefined),
    every(100),
    `no process left with ${canary}`,
  );
});

test('an approval answered Reject leaves the step rejected; approvals queue one at a time', async (api) => {
  await serverRunning(api);
  fs.rmSync(path.join(workspace(), '.vscode'), { recursive: true, force: true });
  const prompts: ApprovalPrompt[] = [];
  let showing = 0;
  let mostAtOnce = 0;
  const original = api.approvals.presenter;
  api.approvals.presenter = async (prompt) => {
    prompts.push(prompt);
    showing += 1;
    mostAtOnce = Math.max(mostAtOnce, showing);
    await settle(200); // a person reading: the second ask arrives meanwhile and must wait
    showing -= 1;
    return prompt.buttons.find((button) => button.label === 'Reject')?.optionId;
  };
  try {
    const result = await vscode.commands.executeCommand<RunResult>('agentd.runGoal', 'asks');
    assert.deepEqual(
      result.results.map((step) => step.status),
      ['rejected', 'rejected'],
    );
    assert.equal(result.status, 'failed');
    assert.ok(!fs.existsSync(path.join(workspace(), '.vscode', 'tasks.json')), 'a rejected write writes nothing');
  } finally {
    api.approvals.presenter = original;
  }
  assert.equal(prompts.length, 2);
  assert.equal(mostAtOnce, 1, 'one prompt on screen at a time');
  const first = prompts.find((prompt) => prompt.stepId === 'tasks');
  assert.ok(first, 'the tasks step was asked about');
  assert.deepEqual(
    first.buttons.map((button) => button.label),
    ['Allow once', 'Allow always', 'Reject'],
  );
  assert.match(first.detail, /write \.vscode\/tasks\.json/);
  assert.match(first.detail, /Risk: high/);
  assert.match(first.detail, /an editor or CI runs this file/);
  assert.match(first.detail, /rejected at \d\d:\d\d:\d\d \(approval timeout/);
});

test("a failing step's diagnostic reaches the Problems panel and offers the code actions", async (api) => {
  await serverRunning(api);
  const result = await vscode.commands.executeCommand<RunResult>('agentd.runGoal', 'failing');
  assert.equal(result.status, 'failed');
  const traceUri = vscode.Uri.file(path.join(workspace(), result.trace));
  const sourceUri = vscode.Uri.file(path.join(workspace(), 'src', 'app.py'));
  const errorsOf = (uri: vscode.Uri): vscode.Diagnostic[] =>
    vscode.languages
      .getDiagnostics(uri)
      .filter((d) => d.source === 'agent' && d.severity === vscode.DiagnosticSeverity.Error);
  const [traceError] = await until(
    () => (errorsOf(traceUri).length > 0 ? errorsOf(traceUri) : undefined),
    (listener) => vscode.languages.onDidChangeDiagnostics(listener),
    'the trace diagnostics',
  );
  assert.ok(traceError);
  assert.match(traceError.message, /step check failed/);
  const [sourceError] = errorsOf(sourceUri);
  assert.ok(sourceError, 'the output line src/app.py:1: boom became a diagnostic on src/app.py');
  assert.match(sourceError.message, /boom/);
  assert.equal(sourceError.range.start.line, 0);

  for (const [uri, diagnostic] of [
    [traceUri, traceError],
    [sourceUri, sourceError],
  ] as const) {
    await vscode.workspace.openTextDocument(uri);
    const actions = await vscode.commands.executeCommand<vscode.CodeAction[]>(
      'vscode.executeCodeActionProvider',
      uri,
      diagnostic.range,
    );
    const titles = (actions ?? []).map((action) => action.title);
    for (const title of ['Re-run step check', 'Re-run goal failing', 'Open output of step check']) {
      assert.ok(
        titles.includes(title),
        `${path.basename(uri.fsPath)} offers "${title}" (got ${JSON.stringify(titles)})`,
      );
    }
  }
});

test('runs started otherwise (a server command) show like our own and finish', async (api) => {
  await serverRunning(api);
  const before = new Set(api.runs.all().map((run) => run.runId));
  // What a code action does: the server's own command, through workspace/executeCommand.
  const answer = vscode.commands.executeCommand<RunResult>('agent/runGoal', {
    goal: 'demo.test',
    workspace: workspace(),
  });
  const run = await untilRun(api, (r) => !before.has(r.runId) && !r.own, 'the foreign run to be heard of');
  const result = await answer;
  assert.equal(run.runId, result.runId);
  const finished = await untilRun(
    api,
    (r) => r.runId === result.runId && r.phase !== 'planning' && r.phase !== 'running',
    'the foreign run to finish',
  );
  assert.equal(finished.phase, 'succeeded');
  assert.equal(finished.trust, 0.9);
  assert.equal(finished.workspace, workspace());
});

test('settings reach the server live', async (api) => {
  await serverRunning(api);
  const config = vscode.workspace.getConfiguration('agentd');
  await config.update('maxParallel', 3, vscode.ConfigurationTarget.Global);
  await config.update('approvalTimeoutMs', 45_000, vscode.ConfigurationTarget.Global);
  try {
    await until(
      () => (api.server.approvalTimeoutMs === 45_000 ? true : undefined),
      every(100),
      'the new approval timeout',
    );
    const health = await api.server.request<{ maxParallel: number; approvalTimeoutMs: number }>('agent/health', {});
    assert.equal(health.maxParallel, 3);
    assert.equal(health.approvalTimeoutMs, 45_000);
  } finally {
    await config.update('maxParallel', undefined, vscode.ConfigurationTarget.Global);
    await config.update('approvalTimeoutMs', undefined, vscode.ConfigurationTarget.Global);
  }
});

test('a broken goals file still lists the built-ins, with the problem beside them', async (api) => {
  await serverRunning(api);
  const goalsFile = path.join(workspace(), '.agent', 'goals.toml');
  const good = fs.readFileSync(goalsFile, 'utf8');
  fs.writeFileSync(goalsFile, '[goals.broken]\nsteps = [ { id = "x", rn = "true" } ]\n');
  try {
    const choices = await api.goalChoices(workspace());
    const ids = choices.goals.map((goal) => goal.id);
    assert.ok(
      ids.includes('demo.test') && ids.includes('swe.analyze'),
      `built-ins listed (got ${JSON.stringify(ids)})`,
    );
    const [problem] = choices.problems;
    assert.ok(problem, 'the broken file is reported');
    assert.equal(problem.path, goalsFile);
    assert.match(problem.message, /rn/);
  } finally {
    fs.writeFileSync(goalsFile, good);
  }
});

test('a server that cannot start is reported, and Restart Server recovers', async (api) => {
  await serverRunning(api);
  const config = vscode.workspace.getConfiguration('agentd');
  const working = config.inspect<string[]>('server.command')?.globalValue;
  assert.ok(working && working.length > 0, 'the test settings name the server');
  await config.update('server.command', ['/nonexistent/agentd', 'serve'], vscode.ConfigurationTarget.Global);
  try {
    assert.equal(await vscode.commands.executeCommand<boolean>('agentd.restartServer'), false);
    assert.equal(api.server.state, 'failed');
  } finally {
    await config.update('server.command', working, vscode.ConfigurationTarget.Global);
  }
  assert.equal(await vscode.commands.executeCommand<boolean>('agentd.restartServer'), true);
  const result = await vscode.commands.executeCommand<RunResult>('agentd.runGoal', 'demo.test');
  assert.equal(result.status, 'succeeded');
});

test('a server that stops mid-run is reported, its run shows cancelled, and no step process is left', async (api) => {
  await serverRunning(api);
  const canary = `agentd-canary-${randomUUID()}`;
  const running = vscode.commands.executeCommand<RunResult | undefined>('agentd.runGoal', {
    steps: [{ kind: 'runCli', cmd: `sleep 600 && echo ${canary}` }],
  });
  const run = await untilRun(
    api,
    (r) => r.steps.some((step) => step.cmd?.includes(canary) && step.status === 'running'),
    'the long step to run',
  );
  const pid = api.server.pid;
  assert.ok(pid !== undefined);
  process.kill(pid, 'SIGTERM'); // as a crash looks to the client: the connection closes
  try {
    await until(
      () => (api.server.state === 'failed' ? true : undefined),
      (listener) => api.server.onDidChangeState(listener),
      'the server to be seen gone',
    );
    // agentd cancels its runs on SIGTERM: the cancelled answer may still make it before the end.
    const outcome = await running;
    assert.ok(outcome === undefined || outcome.status === 'cancelled', `got ${JSON.stringify(outcome?.status)}`);
    assert.equal(run.phase, 'cancelled');
    await until(
      () => (processesWith(canary).length === 0 ? true : undefined),
      every(100),
      `no process left with ${canary}`,
    );
  } finally {
    assert.equal(await vscode.commands.executeCommand<boolean>('agentd.restartServer'), true);
  }
});

test('Run Goal right after Restart Server waits for the new server', async (api) => {
  await serverRunning(api);
  const restarted = vscode.commands.executeCommand<boolean>('agentd.restartServer');
  const result = await vscode.commands.executeCommand<RunResult>('agentd.runGoal', 'demo.test');
  assert.equal(await restarted, true);
  assert.equal(result.status, 'succeeded');
  assert.equal(api.server.state, 'running');
});
