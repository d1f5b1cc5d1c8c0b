// Resource indicators (RFC 8707) across /authorize and every grant: aud is the resource, unknown or malformed
// ones are invalid_target.
import t from 'tap';
import { decodeJwt } from 'jose';
import { DEMO_REDIRECT, authorizeUrl, location, obtainCode, tokenRequest } from '../browser.js';
import { OTHER_RESOURCE, expectError, tokenFixtures } from '../token-fixtures.js';

const { app, config, DEMO, browser, tokens, refresh } = await tokenFixtures(t);

t.test('resource indicators (RFC 8707): aud is the resource; unknown or malformed -> invalid_target', async (t) => {
  const other = await tokens({ resource: OTHER_RESOURCE });
  t.equal(decodeJwt(other.access_token).aud, OTHER_RESOURCE);
  t.equal(decodeJwt((await refresh(other.refresh_token)).json().access_token).aud, OTHER_RESOURCE, 'kept on refresh');

  for (const [resource, why] of [
    ['http://evil.example', /Unknown resource/],
    ['not a uri', /absolute URI/],
    [`${OTHER_RESOURCE}#frag`, /fragment/],
    [[OTHER_RESOURCE, config.RESOURCE_AUDIENCE], /one resource/],
  ] as const) {
    const res = await browser.get(authorizeUrl({ resource: resource as string | string[] }));
    const url = location(res);
    t.equal(url.searchParams.get('error'), 'invalid_target', `authorize: ${String(resource)}`);
    t.match(url.searchParams.get('error_description'), why);
    t.equal(url.searchParams.get('iss'), config.ISSUER);
  }

  const { code, verifier } = await obtainCode(app, { browser });
  const mismatch = await tokenRequest(
    app,
    {
      grant_type: 'authorization_code',
      code,
      code_verifier: verifier,
      redirect_uri: DEMO_REDIRECT,
      resource: OTHER_RESOURCE,
    },
    { basic: DEMO },
  );
  expectError(t, mismatch, 400, 'invalid_target', /does not cover/);
  const plain = await tokens();
  expectError(t, await refresh(plain.refresh_token, { resource: OTHER_RESOURCE }), 400, 'invalid_target');
  expectError(
    t,
    await tokenRequest(app, { grant_type: 'client_credentials', resource: 'http://unknown.example' }, { basic: DEMO }),
    400,
    'invalid_target',
  );
  const cc = await tokenRequest(app, { grant_type: 'client_credentials', resource: OTHER_RESOURCE }, { basic: DEMO });
  t.equal(decodeJwt(cc.json().access_token).aud, OTHER_RESOURCE);
});
