// A real OpenID Provider for the auth-oidc tests: oidc-provider 9 on
// 127.0.0.1 with a random free port, its built-in login/consent pages
// (devInteractions), two confidential clients and a few seeded users.
//
//   node provider.mjs <state-file>
//
// When it listens it writes <state-file> (JSON: issuer, clients, users, and
// the provider's private signing keys so tests can mint validly signed
// tokens with chosen claims) and prints "issuer <url>". It exits on
// SIGTERM/SIGINT, and by itself after BERTH_OIDC_LIFETIME_S (default 900).
import { generateKeyPairSync } from 'node:crypto';
import { writeFileSync, renameSync } from 'node:fs';
import { createServer } from 'node:http';
import Provider from 'oidc-provider';

const stateFile = process.argv[2];
if (!stateFile) { console.error('usage: node provider.mjs <state-file>'); process.exit(2); }

const redirectUri = 'http://127.0.0.1:9/berth/c/oidc/callback'; // never fetched
const clients = [
  // client_secret_basic, RS256 ID tokens.
  { client_id: 'berth', client_secret: 'berth-test-secret', redirect_uris: [redirectUri],
    grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic' },
  // client_secret_post only, ES256 ID tokens.
  { client_id: 'berth-es', client_secret: 'berth-es-secret', redirect_uris: [redirectUri],
    grant_types: ['authorization_code'], response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_post', id_token_signed_response_alg: 'ES256' },
  // For tests whose berthd listens on a port chosen at run time (its
  // callback is http://127.0.0.1:<port>/c/oidc/callback): a native client,
  // whose loopback redirect URIs match on any port (RFC 8252 section 7.3).
  // client_secret_basic, RS256 ID tokens.
  { client_id: 'berth-e2e', client_secret: 'berth-e2e-secret', application_type: 'native',
    redirect_uris: ['http://127.0.0.1/c/oidc/callback'],
    grant_types: ['authorization_code'], response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic' },
];
// devInteractions accept any password: the login name picks the account.
const users = {
  alice: { preferred_username: 'alice', name: 'Alice Liddell', email: 'alice@example.test', groups: ['berth-devs', 'qa'] },
  carol: { preferred_username: 'carol', name: 'Carol Admin', email: 'carol@example.test', groups: ['berth-admins', 'berth-devs', 'ops'] },
  dave: { name: 'Dave NoGroups', email: 'dave@example.test' },
};

const key = (type, opts, kid, alg) => ({
  ...generateKeyPairSync(type, opts).privateKey.export({ format: 'jwk' }), kid, alg, use: 'sig' });
const jwks = { keys: [key('rsa', { modulusLength: 2048 }, 'rsa-1', 'RS256'),
                      key('ec', { namedCurve: 'P-256' }, 'ec-1', 'ES256')] };

const server = createServer();
server.listen(0, '127.0.0.1', () => {
  const issuer = `http://127.0.0.1:${server.address().port}`;
  const provider = new Provider(issuer, {
    clients,
    jwks,
    findAccount: async (ctx, id) => (users[id]
      ? { accountId: id, claims: async () => ({ sub: id, ...users[id] }) } : undefined),
    claims: { openid: ['sub'], profile: ['name', 'preferred_username'], email: ['email'], groups: ['groups'] },
    conformIdTokenClaims: false, // scope-requested claims go into the ID token
    features: { devInteractions: { enabled: true } },
    cookies: { keys: ['berth-oidc-test-cookie-key'] },
  });
  server.on('request', provider.callback());
  const state = { issuer, redirect_uri: redirectUri, clients, users, signing_keys: jwks, pid: process.pid };
  writeFileSync(`${stateFile}.tmp`, JSON.stringify(state, null, 2));
  renameSync(`${stateFile}.tmp`, stateFile);
  console.log(`issuer ${issuer}`);
});

const stop = () => { server.close(() => process.exit(0)); server.closeAllConnections(); };
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
setTimeout(() => process.exit(0), 1000 * Number(process.env.BERTH_OIDC_LIFETIME_S || 900)).unref();
