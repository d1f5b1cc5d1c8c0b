// Where the resource server's files are on disk. Every path derives from SERVICE_DIR, and this module sits
// exactly one folder below the service folder wherever it runs: src/paths.ts under tsx, and inside
// dist/<entry>.mjs once scripts/build-services.mjs has bundled it (import.meta.url is then the bundle's URL).
// So '..' from here is the service folder in both, and the container image only has to keep the same layout.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const SERVICE_DIR = dirname(dirname(fileURLToPath(import.meta.url)));
/** SQL migrations in Prisma's layout (applied by `prisma migrate deploy` or our offline migrator). */
export const MIGRATIONS_DIR = join(SERVICE_DIR, 'prisma', 'migrations');
/**
 * `<repo root>/data/resource-server`, found from this file rather than the cwd, so `npm start` from the root
 * and `npm start` in the workspace use the same folder (data/ is git-ignored).
 */
export const DEFAULT_DATA_DIR = join(SERVICE_DIR, '..', '..', 'data', 'resource-server');
