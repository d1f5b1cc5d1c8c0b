// Private signing keys are stored encrypted: AES-256-GCM with a key derived by HKDF-SHA256 (RFC 5869) from
// KEY_ENCRYPTION_SECRET. The key id is bound as additional authenticated data, so a ciphertext cannot be
// moved to another row. Format: iv.tag.ciphertext (base64url).
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

const HKDF_SALT = 'quartet-authorization-server';
const HKDF_INFO = 'signing-key-encryption-v1';

function deriveKey(secret: string): Buffer {
  return Buffer.from(hkdfSync('sha256', secret, HKDF_SALT, HKDF_INFO, 32));
}

export function encryptPrivateKey(plaintext: string, secret: string, kid: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', deriveKey(secret), iv);
  cipher.setAAD(Buffer.from(kid));
  const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return [iv, cipher.getAuthTag(), ciphertext].map((b) => b.toString('base64url')).join('.');
}

export function decryptPrivateKey(encrypted: string, secret: string, kid: string): string {
  const [iv, tag, ciphertext] = encrypted.split('.').map((p) => Buffer.from(p, 'base64url'));
  if (!iv || !tag || !ciphertext) throw new Error(`Signing key ${kid}: malformed encrypted private key`);
  const decipher = createDecipheriv('aes-256-gcm', deriveKey(secret), iv);
  decipher.setAAD(Buffer.from(kid));
  decipher.setAuthTag(tag);
  try {
    return Buffer.concat([decipher.update(ciphertext), decipher.final()]).toString('utf8');
  } catch (err) {
    throw new Error(`Signing key ${kid} cannot be decrypted: is KEY_ENCRYPTION_SECRET the one it was created with?`, {
      cause: err,
    });
  }
}
