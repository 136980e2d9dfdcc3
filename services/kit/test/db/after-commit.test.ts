/** Work registered in a transaction starts once it commits, never when it rolls back. */
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
