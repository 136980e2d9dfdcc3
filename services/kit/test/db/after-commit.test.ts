/**
 * Work registered in a transaction starts once it commits, never when it rolls back; so do the
 * outbox's notes to the relays.
 */
import { randomUUID } from 'node:crypto';
import { insertOutboxRow as writeOutboxRow } from '../../src/bus/outbox-store';
import { onOutboxWrite } from '../../src/bus/outbox-writes';
import { inTransaction, migrateDatabase, openDatabase, type Database } from '../../src/db';
import { insertOutboxRow, outboxCount } from './fixtures';

let db: Database;
beforeAll(async () => {
  db = await openDatabase({ url: 'pglite://memory' });
  await migrateDatabase({ database: db });
});
afterAll(() => db.close());

test('after-commit work sees what the transaction wrote; a rollback runs none of it', async () => {
  const seen: number[] = [];
  await inTransaction(db, async ({ tx, afterCommit }) => {
    await insertOutboxRow(tx);
    afterCommit(() => outboxCount(db.prisma).then((n) => seen.push(n)));
    // Not yet: the work waits for the commit.
    expect(seen).toEqual([]);
  });
  await new Promise((r) => setTimeout(r, 50));
  expect(seen).toEqual([1]);

  const never: string[] = [];
  await expect(
    inTransaction(db, async ({ tx, afterCommit }) => {
      await insertOutboxRow(tx);
      afterCommit(() => never.push('ran'));
      throw new Error('roll back');
    }),
  ).rejects.toThrow('roll back');
  expect(never).toEqual([]);
  expect(await outboxCount(db.prisma)).toBe(1);
});

test('one failing piece of after-commit work is reported and stops none of the others', async () => {
  const errors: unknown[] = [];
  const ran: string[] = [];
  await inTransaction(
    db,
    async ({ afterCommit }) => {
      afterCommit(() => {
        throw new Error('first fails');
      });
      afterCommit(() => Promise.reject(new Error('second fails later')));
      afterCommit(() => ran.push('third'));
    },
    { onAfterCommitError: (err) => errors.push(err) },
  );
  await new Promise((r) => setTimeout(r, 10));
  expect(ran).toEqual(['third']);
  expect(errors.map(String)).toEqual(['Error: first fails', 'Error: second fails later']);
});

test('an outbox write notes the relays when its transaction commits, once, and not when it rolls back', async () => {
  const notes: number[] = [];
  const stop = onOutboxWrite(() => notes.push(Date.now()));
  const row = (source: string) => ({
    id: randomUUID(),
    source,
    topic: 'notes',
    key: 'k',
    event: { n: 1 },
    headers: {},
  });
  try {
    await inTransaction(db, async ({ tx }) => {
      await writeOutboxRow(tx, row('notes'));
      await writeOutboxRow(tx, row('notes'));
      // A relay woken now would find nothing: the rows are not visible before the commit.
      expect(notes).toHaveLength(0);
    });
    expect(notes).toHaveLength(1);

    await expect(
      inTransaction(db, async ({ tx }) => {
        await writeOutboxRow(tx, row('notes'));
        throw new Error('roll back');
      }),
    ).rejects.toThrow('roll back');
    expect(notes).toHaveLength(1);

    // In a transaction the kit does not know, the note goes out at once, as before.
    await db.prisma.$transaction(async (tx) => {
      await writeOutboxRow(tx, row('notes'));
      expect(notes).toHaveLength(2);
    });
  } finally {
    stop();
  }
});
