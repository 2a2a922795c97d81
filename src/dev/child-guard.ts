import type { ChildProcess } from 'node:child_process';

/**
 * Children that must not outlive this process (a Temporal server started for `npm start` or the
 * tests). The guards kill them when this process exits, and on a signal that nothing else in the
 * process handles (the default action would end the process without an 'exit' event, leaving a
 * detached server running).
 */
const guardedChildren = new Set<ChildProcess>();
const GUARDED_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

function killGuardedChildren(): void {
  for (const child of guardedChildren) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  }
}

function onGuardedSignal(signal: NodeJS.Signals): void {
  if (process.listeners(signal).some((listener) => listener !== onGuardedSignal)) return; // handled elsewhere
  killGuardedChildren();
  removeProcessGuards();
  process.kill(process.pid, signal); // the default action, as if we had not listened
}

function removeProcessGuards(): void {
  process.removeListener('exit', killGuardedChildren);
  for (const signal of GUARDED_SIGNALS) process.removeListener(signal, onGuardedSignal);
}

/** Kills `child` with this process; the process-wide handlers exist while any child is guarded. */
export function guardChild(child: ChildProcess): void {
  if (guardedChildren.size === 0) {
    process.on('exit', killGuardedChildren);
    for (const signal of GUARDED_SIGNALS) process.on(signal, onGuardedSignal);
  }
  guardedChildren.add(child);
}

export function unguardChild(child: ChildProcess): void {
  if (guardedChildren.delete(child) && guardedChildren.size === 0) removeProcessGuards();
}
