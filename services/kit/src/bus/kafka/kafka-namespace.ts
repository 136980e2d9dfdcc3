/**
 * Logical topic (and group) names are what services and events speak of; the physical name on
 * the broker carries an optional namespace prefix. Only this adapter ever sees physical names.
 */
export function physicalTopic(namespace: string | undefined): (name: string) => string {
  if (!namespace) return (name) => name;
  if (!/^[A-Za-z0-9._-]+$/.test(namespace))
    throw new TypeError(`Kafka namespace '${namespace}' may hold only letters, digits, '.', '_' and '-'`);
  return (name) => `${namespace}.${name}`;
}
