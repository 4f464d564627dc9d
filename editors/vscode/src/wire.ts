// The agentd wire shapes this extension reads and sends (docs/protocol.md; docs/schema.json is the
// reference). Only the fields the extension uses are typed; the server may send more.

export type RiskLevel = 'low' | 'medium' | 'high' | 'critical' | 'unknown';
export type Decision = 'allow' | 'ask' | 'deny';
export type RunStatus = 'succeeded' | 'failed' | 'cancelled' | 'planned';
export type LiveStepStatus = 'pending' | 'awaitingApproval' | 'running';
export type FinalStepStatus =
  | 'succeeded'
  | 'failed'
  | 'timedOut'
  | 'cancelled'
  | 'denied'
  | 'rejected'
  | 'skipped'
  | 'planned';
export type StepStatus = LiveStepStatus | FinalStepStatus;
export type Stream = 'stdout' | 'stderr';

export const FINAL_STEP_STATUSES: ReadonlySet<string> = new Set<FinalStepStatus>([
  'succeeded',
  'failed',
  'timedOut',
  'cancelled',
  'denied',
  'rejected',
  'skipped',
  'planned',
]);

export interface Risk {
  level: RiskLevel;
  reasons: string[];
}

/** A step to run, as `agent/runGoal` takes it (`steps`) and as `plan.created` records it. */
export type Step =
  | { id?: string; kind: 'runCli'; cmd: string; after?: string[]; timeoutMs?: number }
  | { id?: string; kind: 'writeFile'; path: string; content: string; after?: string[]; timeoutMs?: number };

export interface StepResult {
  id: string;
  kind: 'runCli' | 'writeFile';
  cmd?: string;
  path?: string;
  after: string[];
  risk: Risk;
  decision: Decision;
  approvedBy: 'policy' | 'user' | 'run' | null;
  status: StepStatus;
  exitCode: number | null;
  stdout: string;
  stderr: string;
  truncated: boolean;
  durationMs: number;
}

export interface RunGoalParams {
  goal?: string;
  steps?: Step[];
  workspace?: string;
  dryRun?: boolean;
  workDoneToken?: string;
  /** `replay`: run a recorded run's plan again (its `runId`; `stepIds`: only those steps). */
  planner?: 'replay';
  runId?: string;
  stepIds?: string[];
}

export interface RunResult {
  runId: string;
  goal: string;
  planner: string;
  status: RunStatus;
  steps: string[];
  deliverables: string[];
  bits: { t: number };
  results: StepResult[];
  trace: string;
}

export interface Goal {
  id: string;
  title: string;
  source: 'builtin' | 'workspace';
  needsModel: boolean;
}

/** A broken goals file, reported beside the goals (shared editor contract, item 1). */
export interface GoalsProblem {
  path: string;
  message: string;
}

export interface ListGoalsResult {
  goals: Goal[];
  problems?: GoalsProblem[];
}

export interface RunStartedParams {
  runId: string;
  goal: string;
  workDoneToken: string | number | null;
}

export interface PlanReadyParams {
  runId: string;
  planner: string;
  steps: StepResult[];
}

export interface StepUpdatedParams {
  runId: string;
  step: StepResult;
}

export interface OutputDeltaParams {
  runId: string;
  stepId: string;
  stream: Stream;
  text: string;
}

export interface PermissionOption {
  optionId: string;
  name: string;
  kind: 'allow_once' | 'allow_always' | 'reject_once' | 'reject_always';
}

export interface RequestPermissionParams {
  runId: string;
  step: StepResult;
  risk: Risk;
  options: PermissionOption[];
}

export type RequestPermissionResult = { outcome: 'selected'; optionId: string } | { outcome: 'cancelled' };

export interface TraceRecord {
  type: string;
  [key: string]: unknown;
}

export interface TraceResult {
  runId: string;
  events: TraceRecord[];
}

export interface RevertResult {
  runId: string;
  restored: string[];
  conflicts: string[];
}

export interface Health {
  version: string;
  approvalTimeoutMs: number;
  [key: string]: unknown;
}

/** The line a step is known by: its command, or `write <path>`. */
export function stepLine(step: Pick<StepResult, 'kind' | 'cmd' | 'path'>): string {
  return step.kind === 'runCli' ? (step.cmd ?? '') : `write ${step.path ?? ''}`;
}
