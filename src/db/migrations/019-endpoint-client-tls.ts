import type { Knex } from 'knex';

/**
 * Mutual TLS to receivers: an endpoint may carry a client certificate and its private key (sealed
 * together under the master key, like every secret), what may be shown of the certificate, and a
 * CA bundle that pins the receiver's certificate (public, kept in clear).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('endpoints', (t) => {
    t.text('client_tls_sealed');
    // Subject, SHA-256 fingerprint and expiry of the client certificate: shown, never the key.
    t.jsonb('client_tls_info');
    t.text('ca_bundle');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('endpoints', (t) => t.dropColumns('client_tls_sealed', 'client_tls_info', 'ca_bundle'));
}
