import t from 'tap';
import { OAuthError } from '@quartet/common';
import { checkImage, decodeBase64, isUuid, sniffImageType } from '../../src/lib/validation.js';

t.test('sniffImageType reads magic bytes', async (t) => {
  t.equal(sniffImageType(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0])), 'image/png');
  t.equal(sniffImageType(Buffer.from([0xff, 0xd8, 0xff, 0xdb])), 'image/jpeg');
  t.equal(sniffImageType(Buffer.from('GIF87a....')), 'image/gif');
  t.equal(sniffImageType(Buffer.from('GIF89a....')), 'image/gif');
  t.equal(sniffImageType(Buffer.from('RIFF\0\0\0\0WEBPVP8 ')), 'image/webp');
  t.equal(sniffImageType(Buffer.from('RIFF\0\0\0\0WAVEfmt ')), null, 'a WAV file is RIFF but not WebP');
  t.equal(sniffImageType(Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"/>')), null);
  t.equal(sniffImageType(new Uint8Array([0x89, 0x50])), null, 'too short');
});

t.test('decodeBase64 is strict', async (t) => {
  t.same(decodeBase64('aGk='), Buffer.from('hi'));
  t.throws(() => decodeBase64('aGk'), OAuthError, 'missing padding');
  t.throws(() => decodeBase64('aG k='), OAuthError, 'whitespace');
  t.throws(() => decodeBase64('aGl='), OAuthError, 'non-canonical trailing bits');
});

t.test('checkImage', async (t) => {
  t.throws(() => checkImage('image/png', ''), { message: /data must not be empty/ });
});

t.test('isUuid', async (t) => {
  t.ok(isUuid('a11ce000-0000-4000-8000-000000000001'));
  t.ok(isUuid('A11CE000-0000-4000-8000-000000000001'));
  t.notOk(isUuid('a11ce000000040008000000000000001'));
  t.notOk(isUuid('a11ce000-0000-4000-8000-00000000000g'));
});
