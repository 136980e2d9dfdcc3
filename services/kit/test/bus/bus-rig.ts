import { randomUUID } from 'node:crypto';
import { freshPostgresDatabase, rigEnv } from '../../../../test/support/rig';
import { migrateDatabase, openDatabase, type Database } from '../../src/db';

/** The rig's Kafka brokers (KAFKA_BROKERS in the environment or deploy/local/.env). */
export function kafkaBrokers(): string[] {
  return rigEnv('KAFKA_BROKERS')
    .KAFKA_BROKERS!.split(',')
    .map((b) => b.trim());
}

/** Random per test, as KafkaJS's own suite does, so tests never see each other's messages. */
export function topicName(): string {
  return `test-topic-${randomUUID()}`;
}

export function groupName(): string {
  return `test-group-${randomUUID()}`;
}

export interface BusTestDatabase {
  db: Database;
  url: string;
  close(): Promise<void>;
}

/** A fresh database on the rig's Postgres, migrated by the real migrations, dropped by close(). */
export async function openBusTestDatabase(): Promise<BusTestDatabase> {
  const fresh = await freshPostgresDatabase('bus_test');
  try {
    await migrateDatabase({ url: fresh.url });
    const db = await openDatabase({ url: fresh.url, poolMax: 20 });
    return {
      db,
      url: fresh.url,
      async close() {
        await db.close();
        await fresh.drop();
      },
    };
  } catch (err) {
    await fresh.drop();
    throw err;
  }
}
