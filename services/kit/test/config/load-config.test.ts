import { z } from 'zod';
import { brokerList, ConfigError, databaseUrl, loadConfig, port } from '../../src/config';

const schema = z.object({
  PORT: port.default(8080),
  DATABASE_URL: databaseUrl,
  KAFKA_BROKERS: brokerList,
});

test('parses and applies defaults', () => {
  const config = loadConfig(schema, { DATABASE_URL: 'pglite://memory', KAFKA_BROKERS: 'a:1, b:2' });
  expect(config).toEqual({ PORT: 8080, DATABASE_URL: 'pglite://memory', KAFKA_BROKERS: ['a:1', 'b:2'] });
});

test('lists every problem in one message, hiding passwords', () => {
  let error: unknown;
  try {
    loadConfig(schema, { PORT: 'eighty', DATABASE_URL: 'mysql://u:hunter2@h/db' });
  } catch (err) {
    error = err;
  }
  expect(error).toBeInstanceOf(ConfigError);
  const { problems, message } = error as ConfigError;
  expect(problems).toHaveLength(3);
  expect(message).toMatch(/PORT: .*"eighty"/);
  expect(message).toMatch(/DATABASE_URL: must be postgresql/);
  expect(message).toMatch(/KAFKA_BROKERS: .*missing/);
  expect(message).not.toContain('hunter2');
});
