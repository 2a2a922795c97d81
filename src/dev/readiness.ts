import { Connection } from '@temporalio/client';
import { canConnect, hostForUrl } from './ports';

export interface ChildExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Polls a Temporal server until its frontend answers `GetSystemInfo` and `DescribeNamespace` for
 * `namespace`, or fails early when its process exits. Returns the open connection.
 */
export async function waitUntilReady(opts: {
  host: string;
  port: number;
  namespace: string;
  deadline: number;
  exitInfo: () => ChildExit | null;
  describeFailure: (reason: string) => Error;
}): Promise<Connection> {
  const { host, port, namespace, deadline, exitInfo, describeFailure } = opts;
  const address = `${hostForUrl(host)}:${port}`;
  const checkExit = (): void => {
    const exit = exitInfo();
    if (exit) throw describeFailure(`the server exited early (${exit.signal ?? `code ${exit.code}`})`);
  };
  // 1. Cheap TCP probe first: gRPC's own reconnect backoff would add up to a second.
  for (;;) {
    checkExit();
    if (await canConnect(host, port)) break;
    if (Date.now() > deadline) throw describeFailure(`nothing listens on ${address}`);
    await delay(50);
  }

  // 2. The frontend answers and the namespace exists.
  let lastError: string;
  for (;;) {
    checkExit();
    let connection: Connection | undefined;
    try {
      connection = await Connection.connect({ address, connectTimeout: 2_000 });
      const conn = connection;
      const callDeadline = Math.min(deadline, Date.now() + 5_000);
      await conn.withDeadline(callDeadline, () => conn.workflowService.getSystemInfo({}));
      await conn.withDeadline(callDeadline, () => conn.workflowService.describeNamespace({ namespace }));
      return conn;
    } catch (err) {
      lastError = err instanceof Error ? err.message : String(err);
      await connection?.close().catch(() => undefined);
    }
    if (Date.now() > deadline) throw describeFailure(`last error: ${lastError}`);
    await delay(100);
  }
}
