export * from './principal';
export { createJwksAuthenticator, createKeyAuthenticator } from './jwt-authenticator';
export { loadOrCreateLocalKey, signLocalToken, type LocalSigningKey } from './local-key';
