import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { goalChoices, goalItems } from '../../src/goals';
import type { Goal } from '../../src/wire';

const goals: Goal[] = [
  { id: 'demo.test', title: 'Write out/hello.txt', source: 'builtin', needsModel: false },
  { id: 'check', title: 'Lint and test', source: 'workspace', needsModel: false },
];

describe('goalItems', () => {
  it('lists workspace goals, then built-in ones, under separators', () => {
    const items = goalItems(goalChoices({ goals }), '');
    assert.deepEqual(
      items.map((item) => [item.kind, item.label]),
      [
        ['separator', 'workspace goals'],
        ['goal', 'check'],
        ['separator', 'built-in goals'],
        ['goal', 'demo.test'],
      ],
    );
  });

  it('offers what was typed as a free-text goal first, unless it is a goal id', () => {
    const typed = goalItems(goalChoices({ goals }), '  add a --verbose flag ');
    assert.deepEqual(typed[0], {
      kind: 'freeText',
      goal: 'add a --verbose flag',
      label: '$(edit) add a --verbose flag',
      description: 'free-text goal for the language model',
    });
    assert.ok(!goalItems(goalChoices({ goals }), 'check').some((item) => item.kind === 'freeText'));
  });

  it("shows a broken goals file's problem beside the goals", () => {
    const items = goalItems(
      goalChoices({
        goals,
        problems: [{ path: '/ws/.agent/goals.toml', message: "goal 'x': steps[0]: unknown key 'rn'" }],
      }),
      '',
    );
    const problem = items.at(-1);
    assert.deepEqual(problem, {
      kind: 'problem',
      path: '/ws/.agent/goals.toml',
      label: '$(warning) .agent/goals.toml',
      description: 'open the file',
      detail: "goal 'x': steps[0]: unknown key 'rn'",
    });
    assert.ok(items.some((item) => item.kind === 'goal' && item.goal === 'demo.test'));
  });

  it('turns an error answer into a problem, so the picker still offers free text', () => {
    const choices = goalChoices({ error: 'agentd is not running' });
    assert.deepEqual(choices, { goals: [], problems: [{ path: '', message: 'agentd is not running' }] });
    const items = goalItems(choices, 'fix it');
    assert.equal(items[0]?.kind, 'freeText');
    assert.deepEqual(items.at(-1), {
      kind: 'problem',
      path: '',
      label: '$(warning) goals',
      description: '',
      detail: 'agentd is not running',
    });
  });

  it('marks goals that need a language model', () => {
    const items = goalItems(
      goalChoices({ goals: [{ id: 'ask', title: 'Ask', source: 'workspace', needsModel: true }] }),
      '',
    );
    assert.equal(items[1]?.kind === 'goal' ? items[1].detail : undefined, 'needs a language model (agentd.planner)');
  });
});
