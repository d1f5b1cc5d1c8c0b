// Configuration is an env schema checked at start: a bad or missing value stops the process with a
// message naming the variable. Development defaults are refused in production.
import { type Static, type TObject } from '@sinclair/typebox';
import addFormats from 'ajv-formats';
import envSchema from 'env-schema';

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** Validates `env` against a TypeBox schema (defaults applied, numbers coerced). */
export function loadConfig<S extends TObject>(schema: S, env: NodeJS.ProcessEnv = process.env): Static<S> {
  try {
    return envSchema<Static<S>>({
      schema,
      data: { ...env },
      dotenv: false,
      // Formats such as "uri" need ajv-formats; without it Ajv refuses the schema.
      ajv: { customOptions: (ajv) => addFormats.default(ajv) },
    });
  } catch (err) {
    // env-schema reports "env/PORT must be integer"; make it read as one sentence naming the variable.
    const message = (err as Error).message.replace(/env\//g, '').replace(/^data /, '');
    throw new ConfigError(`Invalid configuration: ${message}`);
  }
}

/**
 * Production is told apart by the public URL the service is reached at: an https URL means the
 * service faces real users, so development defaults (demo secrets) must have been replaced.
 */
export function isProduction(publicUrl: string): boolean {
  return publicUrl.startsWith('https://');
}

/** Throws naming every variable still set to its development default when running in production. */
export function refuseDevelopmentDefaults(
  publicUrl: string,
  values: Record<string, { value: string; devDefault: string }>,
): void {
  if (!isProduction(publicUrl)) return;
  const bad = Object.entries(values).filter(([, v]) => v.value === v.devDefault).map(([k]) => k);
  if (bad.length > 0) {
    throw new ConfigError(
      `Invalid configuration: ${bad.join(', ')} still set to the development default, which is refused when the public URL is https (${publicUrl}).`,
    );
  }
}
