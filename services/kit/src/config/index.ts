export { loadConfig, loadEnvFile, parseEnvFile, ConfigError } from './load-config';
export * from './common';
