import { z } from 'zod';

// A Docker image reference: [host[:port]/]path[:tag][@sha256:digest], path in lower case.
const hostPart =
  '(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*(?::[0-9]{1,5})?/)?';
const component = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*';
const IMAGE_REFERENCE = new RegExp(
  `^${hostPart}${component}(?:/${component})*(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$`,
);

export const imageReference = z
  .string()
  .max(255)
  .regex(
    IMAGE_REFERENCE,
    'a Docker image reference: [registry/]name[:tag][@sha256:digest], name in lower case',
  );

export const pullBody = z.object({ image: imageReference });

/** `dryRun` is required: a forgotten flag must not pull every outdated image of a node. */
export const checkUpdatesBody = z.object({ dryRun: z.boolean() });

export const imageAnswer = z.object({
  id: z.string(),
  tags: z.array(z.string()),
  digests: z.array(z.string()),
  size: z.number(),
  created: z.string(),
});
