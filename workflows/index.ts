export { deliveryWorkflow } from './delivery';
export { fanOutWorkflow } from './fan-out';
export { housekeepingWorkflow } from './housekeeping';
export { keyRotationWorkflow } from './key-rotation';
export { tenantDeletionWorkflow } from './tenant-deletion';
export { fifoSequencerWorkflow } from './fifo-sequencer';
export { recoveryWorkflow } from './recovery';
