export * from './errors';
export { createHttpApp, type HttpApp, type HttpAppOptions } from './app';
export { defineRoute, type RouteSpec, type RouteResult, type RouteInput, type HttpMethod } from './route';
export { buildOpenApiDocument, openApiPath } from './openapi';
export { Readiness, type ReadinessCheck, type ReadinessReport } from './readiness';
export { PROBLEM_CONTENT_TYPE, PROBLEM_TYPE_BASE, type Problem } from './problem';
export * from './pagination';
export { handleUpgrades, type UpgradeRoute } from './upgrade';
export {
  createRateLimiter,
  isRateLimited,
  rateLimitPruneTask,
  RATE_LIMIT_WINDOW_MS,
  type RateLimiter,
  type RateLimits,
} from './rate-limit';
export { pruneRateLimitWindows } from './rate-limit-store';
export type { RouterRateLimit } from './router';
