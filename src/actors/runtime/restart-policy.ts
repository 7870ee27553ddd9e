/**
 * OTP-style restart intensity: more than `intensity` restarts within `periodMs` (across all the supervisor's
 * children, as in OTP) means restarting is not helping, so the supervisor gives up and escalates.
 */
export interface RestartLimits {
  intensity: number;
  periodMs: number;
}

export type RestartDecision = { restart: true; history: number[] } | { restart: false; history: number[] };

/** Pure: `history` holds the times of earlier restarts; returns the decision and the history to keep. */
export function decideRestart(history: readonly number[], now: number, limits: RestartLimits): RestartDecision {
  const recent = history.filter((t) => now - t < limits.periodMs);
  if (recent.length >= limits.intensity) return { restart: false, history: recent };
  return { restart: true, history: [...recent, now] };
}
