// The goal picker's items: built-in and workspace goals, the problems of a broken goals file
// beside them, and whatever the user types as a free-text goal. Pure.
import type { Goal, GoalsProblem, ListGoalsResult } from './wire';

export interface GoalChoices {
  goals: Goal[];
  problems: GoalsProblem[];
}

/** `agent/listGoals`'s answer, or its error as a problem (so the picker still offers free text). */
export function goalChoices(answer: ListGoalsResult | { error: string }): GoalChoices {
  if ('error' in answer) {
    return { goals: [], problems: [{ path: '', message: answer.error }] };
  }
  return { goals: answer.goals, problems: answer.problems ?? [] };
}

export type GoalItem =
  | { kind: 'goal'; goal: string; label: string; description: string; detail?: string }
  | { kind: 'freeText'; goal: string; label: string; description: string }
  | { kind: 'problem'; path: string; label: string; description: string; detail: string }
  | { kind: 'separator'; label: string };

export function goalItems(choices: GoalChoices, typed: string): GoalItem[] {
  const items: GoalItem[] = [];
  const text = typed.trim();
  const known = choices.goals.some((goal) => goal.id === text);
  if (text !== '' && !known) {
    items.push({
      kind: 'freeText',
      goal: text,
      label: `$(edit) ${text}`,
      description: 'free-text goal for the language model',
    });
  }
  for (const source of ['workspace', 'builtin'] as const) {
    const goals = choices.goals.filter((goal) => goal.source === source);
    if (goals.length === 0) {
      continue;
    }
    items.push({ kind: 'separator', label: source === 'workspace' ? 'workspace goals' : 'built-in goals' });
    for (const goal of goals) {
      items.push({
        kind: 'goal',
        goal: goal.id,
        label: goal.id,
        description: goal.title,
        detail: goal.needsModel ? 'needs a language model (agentd.planner)' : undefined,
      });
    }
  }
  if (choices.problems.length > 0) {
    items.push({ kind: 'separator', label: 'problems' });
    for (const problem of choices.problems) {
      items.push({
        kind: 'problem',
        path: problem.path,
        label: `$(warning) ${problem.path ? baseName(problem.path) : 'goals'}`,
        description: problem.path ? 'open the file' : '',
        detail: problem.message,
      });
    }
  }
  return items;
}

function baseName(file: string): string {
  const parts = file.split(/[\\/]/);
  return parts.slice(-2).join('/');
}
