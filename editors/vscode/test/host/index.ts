// In-host tests: code-server loads this file as `extensionTestsPath` and calls `run()` inside the
// real extension host, with the real `vscode` API and a real `agentd serve`. Exit codes do not leave
// the web workbench, so `run()` writes a verdict file (AGENTD_VSCODE_VERDICT) that the pytest
// wrapper reads: one entry per test, by name.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { AgentdApi } from '../../src/extension';
import { tests } from './suite';

export interface Verdict {
  results: { name: string; ok: boolean; error?: string }[];
}

const TEST_TIMEOUT_MS = 90_000; // a bound for a hung test, not a speed assertion

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no end within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export async function run(): Promise<void> {
  const verdictPath = process.env.AGENTD_VSCODE_VERDICT;
  if (!verdictPath) {
    throw new Error('AGENTD_VSCODE_VERDICT is not set: nowhere to write the verdict');
  }
  const verdict: Verdict = { results: [] };
  const only = process.env.AGENTD_VSCODE_ONLY?.split('|').filter(Boolean);
  try {
    const extension = vscode.extensions.getExtension<AgentdApi>('agentd.agentd');
    if (extension === undefined) {
      throw new Error('the extension agentd.agentd is not loaded');
    }
    const api = await extension.activate();
    for (const [name, body] of tests) {
      if (only !== undefined && !only.includes(name)) {
        continue;
      }
      try {
        await withTimeout(body(api), TEST_TIMEOUT_MS, name);
        verdict.results.push({ name, ok: true });
      } catch (error) {
        verdict.results.push({
          name,
          ok: false,
          error: error instanceof Error ? (error.stack ?? error.message) : String(error),
        });
      }
    }
  } catch (error) {
    verdict.results.push({ name: '(set-up)', ok: false, error: String(error instanceof Error ? error.stack : error) });
  }
  fs.mkdirSync(path.dirname(verdictPath), { recursive: true });
  fs.writeFileSync(`${verdictPath}.part`, JSON.stringify(verdict, null, 2));
  fs.renameSync(`${verdictPath}.part`, verdictPath); // the wrapper never reads half a verdict
}
