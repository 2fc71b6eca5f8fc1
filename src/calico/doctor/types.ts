// A doctor check is data — a stable id, a category, what it needs to read —
// plus a function from the cluster's facts to its results.
import type { Permission } from '../../kube/access.ts';
import type { Facts } from './facts.ts';

export type CheckStatus = 'PASS' | 'WARN' | 'FAIL' | 'SKIP';

export interface CheckResult {
  id: string;
  category: string;
  check: string;
  status: CheckStatus;
  /** One line with the concrete objects and values. */
  finding: string;
  /** A command or a precise action; empty for PASS. */
  fix?: string;
}

export interface Check {
  id: string;
  category: string;
  check: string;
  /** What the check reads; a missing permission makes it SKIP, naming it. */
  needs: Permission[];
  run(facts: Facts): Promise<Verdict> | Verdict;
}

export type Verdict = { status: Exclude<CheckStatus, 'SKIP'>; finding: string; fix?: string } | { status: 'SKIP'; finding: string };

export const pass = (finding: string): Verdict => ({ status: 'PASS', finding });
export const warn = (finding: string, fix: string): Verdict => ({ status: 'WARN', finding, fix });
export const fail = (finding: string, fix: string): Verdict => ({ status: 'FAIL', finding, fix });
export const skip = (finding: string): Verdict => ({ status: 'SKIP', finding });
