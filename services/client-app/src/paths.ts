// Where the client app's files are on disk. Every path derives from SERVICE_DIR, and this module sits exactly
// one folder below the service folder wherever it runs: src/paths.ts under tsx, and inside dist/server.mjs
// once scripts/build-services.mjs has bundled it (import.meta.url is then the bundle's URL). So '..' from
// here is the service folder in both, and the container image only has to keep the same layout.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const SERVICE_DIR = dirname(dirname(fileURLToPath(import.meta.url)));
/** Nunjucks templates of the pages. */
export const VIEWS_DIR = join(SERVICE_DIR, 'views');
/** Stylesheet and scripts served as static files. */
export const PUBLIC_DIR = join(SERVICE_DIR, 'public');
