import { Client, Connection } from '@temporalio/client';
import type { Config } from '../config';
import { dataConverter } from './payload-codec';

/** Connection options shared by the client and the worker (TLS and API key for clusters/Cloud). */
export function connectionOptions(config: Config, address: string) {
  return {
    address,
    tls: config.TEMPORAL_TLS || config.TEMPORAL_API_KEY ? {} : undefined,
    apiKey: config.TEMPORAL_API_KEY,
  };
}

/** Connects a Temporal client to `address` (the configured one, or the dev server's). */
export async function connectClient(config: Config, address: string): Promise<Client> {
  const connection = await Connection.connect(connectionOptions(config, address));
  return new Client({ connection, namespace: config.TEMPORAL_NAMESPACE, dataConverter: dataConverter(config) });
}
