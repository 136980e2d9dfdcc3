/** Batch placement: names, and which node each item goes to (pure). */
import { countPerNode, placeBatch } from '../src/domain/placement';

test('spread deals prefix-1..N round robin over the nodes', () => {
  const plan = placeBatch('exp', 7, ['n1', 'n2', 'n3'], 'spread', 50);
  expect(plan.map((p) => `${p.name}@${p.node}`)).toEqual([
    'exp-1@n1',
    'exp-2@n2',
    'exp-3@n3',
    'exp-4@n1',
    'exp-5@n2',
    'exp-6@n3',
    'exp-7@n1',
  ]);
  expect([...countPerNode(plan)]).toEqual([
    ['n1', 3],
    ['n2', 2],
    ['n3', 2],
  ]);
});

test('pack fills each node up to its share before the next, and refuses what does not fit', () => {
  const plan = placeBatch('exp', 5, ['n1', 'n2'], 'pack', 3);
  expect(plan.map((p) => p.node)).toEqual(['n1', 'n1', 'n1', 'n2', 'n2']);
  expect(() => placeBatch('exp', 7, ['n1', 'n2'], 'pack', 3)).toThrow(/at most 3 per node/);
  expect(() => placeBatch('exp', 1, [], 'spread', 3)).toThrow(RangeError);
});
