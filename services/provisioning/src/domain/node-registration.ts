import { z } from 'zod';

/** A node's name: it is a Docker label value, a Kubernetes-ish name and a path part. */
export const nodeName = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/, 'letters, digits, ".", "_" and "-"');
export const dockerHost = z
  .string({ message: 'required: unix://…, tcp://host:port or ssh://user@host' })
  .regex(/^(unix|tcp|ssh):\/\/.+$/, 'unix://, tcp:// or ssh://');

/** A node as configuration or an operator registers it. */
export const nodeRegistration = z.object({
  name: nodeName,
  dockerHost,
  tls: z
    .object({
      secretRef: z.string().optional(),
      caPath: z.string().optional(),
      certPath: z.string().optional(),
      keyPath: z.string().optional(),
    })
    .optional(),
  insecure: z.boolean().optional(),
  macvlanParent: z.string().min(1).nullish(),
  experimentPool: z.string().min(1).optional(),
  secondaryPool: z.string().min(1).optional(),
  labels: z.record(z.string(), z.string()).optional(),
  schedulable: z.boolean().optional(),
});
export type NodeRegistration = z.infer<typeof nodeRegistration>;
