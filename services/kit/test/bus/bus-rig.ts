import { randomUUID } from 'node:crypto';
import { freshPostgresDatabase, rigEnv } from '@testbed/test-support/rig';
import { deleteKafkaTopics } from '../../src/bus';
import { migrateDatabase, openDatabase, type Database } from '../../src/db';
import type { Logger } from '../../src/log/logger';

/** The rig's Kafka brokers (KAFKA_BROKERS in the environment or deploy/local/.env). */
export function kafkaBrokers(): string[] {
  return rigEnv('KAFKA_BROKERS')
    .KAFKA_BROKERS!.split(',')
    .map((b) => b.trim());
}

const named: string[] = [];

/** Random per test, as KafkaJS's own suite does, so tests never see each other's messages. */
export function topicName(): string {
  const name = `test-topic-${randomUUID()}`;
  named.push(name);
  return name;
}

/** Deletes the topics this test file named (and their `.dlt`), so the rig's broker does not fill up. */
export async function deleteNamedTopics(logger: Logger): Promise<void> {
  await deleteKafkaTopics({ brokers: kafkaBrokers(), logger, topics: named.splice(0) });
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
