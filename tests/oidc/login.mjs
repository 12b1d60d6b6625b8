// Browser-less sign-in on the test OpenID Provider, for tests in any language:
//
//   node tests/oidc/login.mjs <authorization-url> <login> [redirect-prefix]
//
// Follows the authorization URL (as returned by the plugin's login_begin, or
// built by hand) through the provider's devInteractions login and consent
// forms, with cookies, until the provider redirects to a URL starting with
// redirect-prefix (default: the redirect_uri parameter of the authorization
// URL). Prints that callback URL (…?code=…&state=…&iss=…) and exits 0; exits
// 1 with a message on stderr when the flow breaks. Any password is accepted
// by devInteractions; the login name picks the account.
const [authUrl, login, prefixArg] = process.argv.slice(2);
if (!authUrl || !login) {
  console.error('usage: node login.mjs <authorization-url> <login> [redirect-prefix]');
  process.exit(2);
}
const prefix = prefixArg || new URL(authUrl).searchParams.get('redirect_uri');
const jar = new Map();
const cookieHeader = () => [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
const unescape = (s) => s.replace(/&amp;/g, '&').replace(/&quot;/g, '"').replace(/&#39;/g, "'")
  .replace(/&lt;/g, '<').replace(/&gt;/g, '>');

let url = authUrl;
let body;
for (let step = 0; step < 20; step += 1) {
  const res = await fetch(url, {
    method: body ? 'POST' : 'GET',
    redirect: 'manual',
    headers: { cookie: cookieHeader(), ...(body ? { 'content-type': 'application/x-www-form-urlencoded' } : {}) },
    body,
  });
  for (const c of res.headers.getSetCookie()) {
    const [pair] = c.split(';');
    const eq = pair.indexOf('=');
    jar.set(pair.slice(0, eq).trim(), pair.slice(eq + 1).trim());
  }
  body = undefined;
  if (res.status >= 300 && res.status < 400) {
    const next = new URL(res.headers.get('location'), url).href;
    if (next.startsWith(prefix)) {
      console.log(next);
      process.exit(0);
    }
    url = next;
    continue;
  }
  const html = await res.text();
  const form = /<form[^>]*action="([^"]*)"[^>]*>([\s\S]*?)<\/form>/i.exec(html);
  if (res.status !== 200 || !form) {
    console.error(`unexpected HTTP ${res.status} from ${url}: ${html.slice(0, 300)}`);
    process.exit(1);
  }
  const fields = new URLSearchParams();
  for (const [tag] of form[2].matchAll(/<input[^>]*>/gi)) {
    const name = /name="([^"]*)"/.exec(tag)?.[1];
    if (!name) continue;
    if (name === 'login') fields.set(name, login);
    else if (name === 'password') fields.set(name, 'any-password');
    else fields.set(name, unescape(/value="([^"]*)"/.exec(tag)?.[1] ?? ''));
  }
  url = new URL(unescape(form[1]), url).href;
  body = fields.toString();
}
console.error(`the sign-in did not reach ${prefix} within 20 requests`);
process.exit(1);
