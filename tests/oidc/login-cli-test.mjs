// ctest oidc_login_cli: login.mjs signs in on the test provider and the code
// it returns is redeemable at the token endpoint.
//   node login-cli-test.mjs <provider.json>
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { strict as assert } from 'node:assert';

const state = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const client = state.clients[0];
const auth = new URL(`${state.issuer}/auth`);
for (const [k, v] of Object.entries({ response_type: 'code', client_id: client.client_id,
  redirect_uri: state.redirect_uri, scope: 'openid groups', state: 'cli-state', nonce: 'cli-nonce' })) {
  auth.searchParams.set(k, v);
}
const login = new URL('login.mjs', import.meta.url).pathname;
const callback = new URL(execFileSync('node', [login, auth.href, 'carol'], { encoding: 'utf8' }).trim());
assert.equal(callback.origin + callback.pathname, state.redirect_uri);
assert.equal(callback.searchParams.get('state'), 'cli-state');
const code = callback.searchParams.get('code');
assert.ok(code, `no code in ${callback}`);

const res = await fetch(`${state.issuer}/token`, {
  method: 'POST',
  headers: { 'content-type': 'application/x-www-form-urlencoded',
    authorization: `Basic ${Buffer.from(`${client.client_id}:${client.client_secret}`).toString('base64')}` },
  body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: state.redirect_uri }),
});
const tokens = await res.json();
assert.equal(res.status, 200, JSON.stringify(tokens));
const claims = JSON.parse(Buffer.from(tokens.id_token.split('.')[1], 'base64url'));
assert.equal(claims.sub, 'carol');
assert.equal(claims.nonce, 'cli-nonce');
assert.deepEqual(claims.groups, state.users.carol.groups);
// Unknown flows fail loudly: a bogus client gets no callback.
auth.searchParams.set('client_id', 'nobody');
assert.throws(() => execFileSync('node', [login, auth.href, 'carol'], { stdio: 'pipe' }));
console.log('login.mjs signed in and its code was redeemed');
