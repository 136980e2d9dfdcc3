/** The portal's server side: what a host mounts to serve the built web UI. */
export { portalRouter, type PortalRouterOptions } from './server/portal-router';
export {
  embeddedPortalConfig,
  portalConfigShape,
  standalonePortalConfig,
  type PortalEnv,
} from './server/portal-config';
export type { PortalConfig, SignIn } from './server/portal-config-types';
export { contentSecurityPolicy } from './server/content-security-policy';
