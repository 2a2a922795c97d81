import type { KeyScopeIn, RotationTrigger } from '../../workflows/key-rotation-definitions';

export interface GenerateKeyIn {
  tenantId: string;
  scope: KeyScopeIn;
  keyId: string;
}

export interface ActivateKeyIn extends GenerateKeyIn {
  graceSeconds: number;
  expectedActiveKeyId?: string;
}

export interface RecordKeyRotationIn {
  tenantId: string;
  scope: KeyScopeIn;
  trigger: RotationTrigger;
  actor: string;
  workflowId: string;
  newKeyId: string;
  oldKeyIds: string[];
  graceSeconds: number;
  graceExpiresAt: string;
}

export interface RetireKeysIn {
  tenantId: string;
  scope: KeyScopeIn;
  keyIds: string[];
}
