/** The portal's server side: what a host mounts to serve the built web UI. */
export { portalRouter, type PortalRouterOptions } from './server/portal-router';
export {
  embeddedPortalConfig,
  portalConfigShape,
  standalonePortalConfig,
  type PortalConfig,
  type PortalEnv,
  type SignIn,
} from './server/portal-config';
export { contentSecurityPolicy } from './server/content-security-policy';
