import type { KeyScope, RotationTrigger } from '../../src/domain/keys';

export interface GenerateKeyIn {
  tenantId: string;
  scope: KeyScope;
  keyId: string;
}

export interface ActivateKeyIn extends GenerateKeyIn {
  graceSeconds: number;
  expectedActiveKeyId?: string;
}

export interface RecordKeyRotationIn {
  tenantId: string;
  scope: KeyScope;
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
  scope: KeyScope;
  keyIds: string[];
}
