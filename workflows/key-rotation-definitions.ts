import { defineQuery } from '@temporalio/workflow';

export interface KeyRotationOut {
  status: 'completed' | 'skipped';
  reason: string | null;
  newKeyId: string;
  oldKeyIds: string[];
  graceExpiresAt: string | null;
}

export type KeyRotationPhase = 'generating' | 'activating' | 'grace' | 'retiring' | 'completed' | 'skipped';

export interface KeyRotationStatus {
  phase: KeyRotationPhase;
  newKeyId: string;
  oldKeyIds: string[];
  graceExpiresAt: string | null;
}

export const keyRotationStatusQuery = defineQuery<KeyRotationStatus>('keyRotationStatus');
