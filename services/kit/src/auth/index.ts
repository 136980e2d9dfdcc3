export * from './principal';
export { createJwksAuthenticator, createKeyAuthenticator } from './jwt-authenticator';
export { loadOrCreateLocalKey, signLocalToken, type LocalSigningKey } from './local-key';
export * from './api-token';
export {
  createApiTokenAuthenticator,
  createCompositeAuthenticator,
  httpTokenIntrospector,
} from './api-token-authenticator';
