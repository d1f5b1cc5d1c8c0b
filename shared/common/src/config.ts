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

/** The shortest secret accepted in production (256 bits of base64url are 43 characters; 32 is the floor). */
export const MIN_PRODUCTION_SECRET_LENGTH = 32;
// Values that are obviously a template left unfilled: CHANGE_ME, change-me, changeit, replace_me, placeholder…
const PLACEHOLDER = /change[-_ ]?(me|it)|replace[-_ ]?me|placeholder|<[^>]*>/i;

/** What a service must not run with once its public URL is https (see refuseDevelopmentSettings). */
export interface ProductionRules {
  /** Secrets: each must be long, not its published development default and not a placeholder. */
  secrets?: Record<string, { value: string; devDefault?: string }>;
  /** Development switches (workshop mode, demo seeding): each must be off. */
  switches?: Record<string, boolean>;
  /** URLs (or lists of them) that must be https: resources, redirect URIs, the servers this one talks to. */
  httpsUrls?: Record<string, string | readonly string[]>;
}

/** Why a secret is unfit for production, or null. */
export function weakSecret(value: string, devDefault?: string): string | null {
  if (devDefault !== undefined && value === devDefault) return 'is the development default';
  if (PLACEHOLDER.test(value)) return 'is a placeholder';
  if (value.length < MIN_PRODUCTION_SECRET_LENGTH) return `is shorter than ${MIN_PRODUCTION_SECRET_LENGTH} characters`;
  return null;
}

/**
 * With an https public URL (production), throws one ConfigError naming every variable that breaks a rule:
 * a weak secret, a development switch turned on, an http URL. Does nothing for an http public URL.
 */
export function refuseDevelopmentSettings(publicUrlName: string, publicUrl: string, rules: ProductionRules): void {
  if (!isProduction(publicUrl)) return;
  const problems: string[] = [];
  for (const [name, { value, devDefault }] of Object.entries(rules.secrets ?? {})) {
    const why = weakSecret(value, devDefault);
    if (why) problems.push(`${name} ${why}`);
  }
  for (const [name, on] of Object.entries(rules.switches ?? {})) if (on) problems.push(`${name} must be false`);
  for (const [name, urls] of Object.entries(rules.httpsUrls ?? {})) {
    const list = typeof urls === 'string' ? [urls] : urls;
    const plain = list.filter((u) => !u.startsWith('https://'));
    if (plain.length > 0) problems.push(`${name} must be https (got ${plain.join(', ')})`);
  }
  if (problems.length > 0) {
    throw new ConfigError(
      `Invalid configuration: ${problems.join('; ')} — refused because ${publicUrlName} is https (${publicUrl}), which means production.`,
    );
  }
}
