// Targets and their PASS/FAIL verdicts, collected by each section and summarised by run.ts.
export interface Target {
  section: string;
  name: string;
  value: number;
  op: '>=' | '<=';
  goal: number;
  unit: string;
  /** how the value was obtained (e.g. "median of 10 back-to-back ratios [0.52–0.61]") */
  how: string;
  pass: boolean;
}

export function target(section: string, name: string, value: number, op: '>=' | '<=', goal: number, unit: string, how: string): Target {
  const pass = Number.isFinite(value) && (op === '>=' ? value >= goal : value <= goal);
  return { section, name, value, op, goal, unit, how, pass };
}

export const verdict = (t: Target): string => (t.pass ? 'PASS' : 'FAIL');

/** What every section returns to run.ts. */
export interface SectionResult {
  section: string;
  targets: Target[];
  /** anything worth keeping in --json */
  data: unknown;
  /** things the section could not measure (e.g. a module not landed yet) */
  missing: string[];
}
