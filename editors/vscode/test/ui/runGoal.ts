// Drives the workbench as a person does: palette -> Agent: Run Goal… -> pick the goal -> answer the
// approval -> the notification with Cancel -> the output channel -> the Problems panel, saving a
// screenshot at each stage; then cancels a run from its notification, Plan Goal -> Run as planned, and Set API Key. The workspace
// (tests/editors/vscode/test_ui.py) has the goal `check`: a lint step that waits for `out/go`
// (created here once the notification was seen, so no timing is assumed) and then reports
// `src/app.py:1:1: F401 ...`, and a write of .vscode/tasks.json that the gate asks about.
// Usage: node runGoal.js URL WORKSPACE ARTIFACTS_DIR
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Locator, Page } from 'playwright-core';
import { launch, openWorkbench } from '../drive/browser';

const STEP_MS = 60_000; // bound for each thing to appear, not a speed assertion

async function shot(page: Page, artifacts: string, name: string): Promise<void> {
  await page.screenshot({ path: path.join(artifacts, `${name}.png`) });
  console.log(`screenshot ${name}.png`);
}

async function palette(page: Page, command: string): Promise<Locator> {
  await page.keyboard.press('F1');
  const input = page.locator('.quick-input-widget input');
  await input.waitFor({ timeout: STEP_MS });
  await input.fill(`>${command}`);
  await page.locator('.quick-input-list .monaco-list-row', { hasText: command }).first().waitFor({ timeout: STEP_MS });
  await page.keyboard.press('Enter');
  return input;
}

async function drive(page: Page, workspace: string, artifacts: string): Promise<void> {
  // The extension started the server: the status bar says so.
  await page
    .locator('.statusbar-item', { hasText: /^\s*Agent\s*$/ })
    .first()
    .waitFor({ timeout: STEP_MS });
  // Open the Agent Runs view in the explorer, to watch the run there.
  await page.locator('.pane-header', { hasText: 'Agent Runs' }).click();

  const input = await palette(page, 'Agent: Run Goal…');
  await page.locator('.quick-input-list .monaco-list-row', { hasText: 'check' }).first().waitFor({ timeout: STEP_MS });
  await shot(page, artifacts, '1-goal-picker');
  await input.fill('check');
  await page.keyboard.press('Enter');

  // The gate asks about .vscode/tasks.json: a modal with the risk and reasons; the person rejects.
  const dialog = page.locator('.monaco-dialog-box');
  await dialog.waitFor({ timeout: STEP_MS });
  await dialog.getByText('.vscode/tasks.json').first().waitFor({ timeout: STEP_MS });
  await dialog.getByText('Risk: high', { exact: false }).first().waitFor({ timeout: STEP_MS });
  await shot(page, artifacts, '2-approval');
  await dialog.getByRole('button', { name: 'Reject' }).click();

  // The run's notification, with its Cancel button, while the lint step waits.
  const toast = page.locator('.notification-toast', { hasText: 'Agent: check' });
  await toast.getByRole('button', { name: 'Cancel' }).waitFor({ timeout: STEP_MS });
  // ... and in the Agent Runs view, the run with its steps.
  const tree = page.locator('.pane', { has: page.locator('.pane-header', { hasText: 'Agent Runs' }) });
  await tree.locator('.monaco-list-row', { hasText: 'lint' }).waitFor({ timeout: STEP_MS });
  await shot(page, artifacts, '3-progress');
  fs.mkdirSync(path.join(workspace, 'out'), { recursive: true });
  fs.writeFileSync(path.join(workspace, 'out', 'go'), '');

  // The outcome, then its output in the "Agent" channel.
  const outcome = page.locator('.notification-toast', { hasText: 'Agent: check failed' });
  await outcome.waitFor({ timeout: STEP_MS });
  await shot(page, artifacts, '4-outcome');
  await outcome.getByRole('button', { name: 'Show Output' }).click();
  const output = page.locator('.part.panel .monaco-editor');
  await output.getByText('F401', { exact: false }).first().waitFor({ timeout: STEP_MS });
  await output.getByText('tasks rejected', { exact: false }).first().waitFor({ timeout: STEP_MS });
  await shot(page, artifacts, '5-output');

  // The Problems panel has the finding on src/app.py.
  await palette(page, 'View: Focus Problems');
  const problems = page.locator('.markers-panel');
  await problems.getByText('F401', { exact: false }).first().waitFor({ timeout: STEP_MS });
  await problems.getByText('app.py').first().waitFor({ timeout: STEP_MS });
  await shot(page, artifacts, '6-problems');

  // A run the person cancels from its notification.
  const waitInput = await palette(page, 'Agent: Run Goal…');
  await page.locator('.quick-input-list .monaco-list-row', { hasText: 'wait' }).first().waitFor({ timeout: STEP_MS });
  await waitInput.fill('wait');
  await page.keyboard.press('Enter');
  const waiting = page.locator('.notification-toast', { hasText: 'Agent: wait' });
  await page.locator('.pane .monaco-list-row', { hasText: 'wait: for i in' }).first().waitFor({ timeout: STEP_MS });
  await waiting.getByRole('button', { name: 'Cancel' }).click();
  await page.locator('.notification-toast', { hasText: 'Agent: wait cancelled' }).waitFor({ timeout: STEP_MS });

  // Plan Goal: the plan with each step's decision and risk, then "Run as planned".
  const planInput = await palette(page, 'Agent: Plan Goal (dry run)');
  await page
    .locator('.quick-input-list .monaco-list-row', { hasText: 'demo.test' })
    .first()
    .waitFor({ timeout: STEP_MS });
  await planInput.fill('demo.test');
  await page.keyboard.press('Enter');
  const plan = page.locator('.quick-input-widget');
  await plan.getByText('Plan of demo.test', { exact: false }).waitFor({ timeout: STEP_MS });
  await plan.locator('.monaco-list-row', { hasText: 'write out/hello.txt' }).waitFor({ timeout: STEP_MS });
  await plan
    .locator('.monaco-list-row', { hasText: 'allow · pending · risk low' })
    .or(plan.locator('.monaco-list-row', { hasText: 'allow · planned · risk low' }))
    .first()
    .waitFor({ timeout: STEP_MS });
  await shot(page, artifacts, '7-plan');
  await plan.locator('.monaco-list-row', { hasText: 'Run as planned' }).click();
  await page.locator('.notification-toast', { hasText: 'Agent: demo.test succeeded' }).waitFor({ timeout: STEP_MS });
  if (!fs.existsSync(path.join(workspace, 'out', 'hello.txt'))) {
    throw new Error('Run as planned did not write out/hello.txt');
  }

  // Agent: Set API Key: into the secret storage, and from there into the restarted server's
  // environment (a made-up key: the wrapper checks that no settings file holds it).
  const key = `sk-agentd-test-${randomUUID()}`;
  const keyInput = await palette(page, 'Agent: Set API Key');
  await page.locator('.quick-input-widget', { hasText: 'secret storage' }).waitFor({ timeout: STEP_MS });
  await keyInput.fill(key);
  await page.keyboard.press('Enter');
  await page.locator('.notification-toast', { hasText: 'API key stored' }).waitFor({ timeout: STEP_MS });
  if (serversWithKey(key).length === 0) {
    throw new Error('no agentd server process has the stored key as OPENAI_API_KEY');
  }
  console.log(`api key ${key}`);
}

/** Pids of `agentd serve` processes whose environment has OPENAI_API_KEY=key. */
function serversWithKey(key: string): number[] {
  return fs
    .readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((pid) => {
      try {
        const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
        const environ = fs.readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
        return cmdline.includes('serve') && environ.includes(`OPENAI_API_KEY=${key}`);
      } catch {
        return false; // gone, or not ours to read
      }
    })
    .map(Number);
}

async function main(): Promise<number> {
  const [url, workspace, artifacts] = process.argv.slice(2);
  if (!url || !workspace || !artifacts) {
    console.error('usage: runGoal.js URL WORKSPACE ARTIFACTS_DIR');
    return 2;
  }
  const browser = await launch();
  const page = await openWorkbench(browser, url);
  try {
    await drive(page, workspace, artifacts);
    return 0;
  } catch (error) {
    await shot(page, artifacts, 'failure');
    throw error;
  } finally {
    await browser.close();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
