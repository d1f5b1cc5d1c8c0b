export * from './backends.js';
export * from './database.js';
export * from './redis.js';
export * from './tcp-proxy.js';
export * from './metrics.js';
export * from './document-server.js';
