export { deliveryWorkflow } from './delivery';
export { fanOutWorkflow } from './fan-out';
