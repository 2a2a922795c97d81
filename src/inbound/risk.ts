/** Signals behind an inbound request's risk score. */
export interface RiskSignals {
  /** This request's own result code (`ok` when accepted). */
  result: string;
  /** Signature failures (bad signature, unknown key) from the same source in the recent window. */
  signatureFailures: number;
  /** Replayed nonces from the same source in the recent window. */
  replays: number;
  /** Rejected requests from the same address in the recent window. */
  addressFailures: number;
  /** |clock skew| / tolerance, when the timestamp was readable. */
  skewRatio: number | null;
  /** The request named a key id that is not a valid key of the source. */
  unknownKeyId: boolean;
}

/** How far back the risk score looks. */
export const RISK_WINDOW_SECONDS = 600;

/**
 * Risk score 0–100, a sum of capped signals:
 * - this request failed the guard: +20 (+10 more for a bad signature or a replay);
 * - signature failures from the source in the window: +8 each, at most +30;
 * - replays from the source in the window: +10 each, at most +20;
 * - rejections from the address in the window: +4 each, at most +20;
 * - clock skew beyond 80 % of the tolerance: +10;
 * - an unknown key id: +15.
 */
export function riskScore(s: RiskSignals): number {
  let score = 0;
  if (s.result !== 'ok') score += 20;
  if (s.result === 'bad_signature' || s.result === 'replayed_nonce') score += 10;
  score += Math.min(30, 8 * s.signatureFailures);
  score += Math.min(20, 10 * s.replays);
  score += Math.min(20, 4 * s.addressFailures);
  if (s.skewRatio !== null && s.skewRatio > 0.8) score += 10;
  if (s.unknownKeyId) score += 15;
  return Math.max(0, Math.min(100, score));
}
