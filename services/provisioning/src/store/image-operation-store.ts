/** Operations on a node's images: rows in provisioning.operation, outside the create saga (SAGA_KINDS). */
export const IMAGE_KINDS = ['image.pull', 'image.check-updates'] as const;
export type ImageKind = (typeof IMAGE_KINDS)[number];
