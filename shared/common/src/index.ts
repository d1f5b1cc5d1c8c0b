export * from './errors.js';
export * from './error-handler.js';
export * from './config.js';
export * from './logger.js';
export * from './kv-store.js';
export * from './sessions.js';
export * from './migrate.js';
