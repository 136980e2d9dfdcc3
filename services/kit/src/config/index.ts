export { loadConfig, loadEnvFile, ConfigError } from './load-config';
export * from './common';
