import { z } from 'zod';
import { boolFlag } from '@testbed/kit';

const range = z.string().regex(/^[\d.]+-[\d.]+$/, 'must be <first address>-<last address>');

/** ipam's own variables; the seeded pools match the original testbed's addresses. */
export const ipamConfigShape = z.object({
  IPAM_DEFAULT_HOLD_SECONDS: z.coerce.number().int().min(1).max(86400).default(300),
  IPAM_JANITOR_INTERVAL_MS: z.coerce.number().int().min(100).max(3_600_000).default(5000),
  IPAM_SEED_POOLS: boolFlag.default(true),
  IPAM_EXPERIMENT_CIDR: z.string().default('10.64.98.0/23'),
  IPAM_EXPERIMENT_RANGE: range.default('10.64.98.52-10.64.98.240'),
  IPAM_EXPERIMENT_GATEWAY: z.string().default('10.64.98.1'),
  IPAM_EXPERIMENT_SEGMENT: z.string().default('testbed'),
  IPAM_SECONDARY_CIDR: z.string().default('172.10.0.0/24'),
  IPAM_SECONDARY_RANGE: range.default('172.10.0.2-172.10.0.254'),
  IPAM_SECONDARY_GATEWAY: z.string().default('172.10.0.1'),
  IPAM_SECONDARY_SEGMENT: z.string().default('secondary'),
});

export type IpamConfig = z.infer<typeof ipamConfigShape>;

/** Defaults for hosts that do not read ipam's variables themselves (tests, the embedded default). */
export const defaultIpamConfig: IpamConfig = ipamConfigShape.parse({});
