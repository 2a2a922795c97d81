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

/** What the workflow needs from the recorded rotation (empty in histories written before `key.expiring`). */
export interface RecordKeyRotationOut {
  /** How long before the grace expiry `key.expiring` goes out. */
  expiringNoticeMs: number;
}

export interface KeysExpiringIn {
  tenantId: string;
  scope: KeyScope;
  keyIds: string[];
  expiresAt: string;
}
