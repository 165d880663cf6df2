// The OpenID provider the browser tests sign in with (tests/e2e/test_oidc.py): panva's
// certified oidc-provider, configured like a Keycloak realm with one confidential client.
//
// Everything comes from the environment the test gives it:
//   OIDC_PORT            the port to listen on (127.0.0.1)
//   OIDC_ISSUER          the issuer, e.g. http://127.0.0.1:<port> (the test may put a relay
//                        in front, so the issuer's port need not be OIDC_PORT)
//   OIDC_CLIENT          {"client_id", "client_secret", "redirect_uris", "post_logout_redirect_uris"}
//   OIDC_USERS           {"<username>": {"sub", "password", "email", "email_verified"}}
//   OIDC_LOG             a file that gets one line per request: method, path, status
//
// Sign-in asks for a username and password (checked against OIDC_USERS); consent is
// granted without asking, as Keycloak does for a client with "Consent required" off.

import { appendFileSync } from 'node:fs';
import * as http from 'node:http';
import { randomBytes } from 'node:crypto';

import Provider from 'oidc-provider';

const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} must be set`);
  return value;
};

const PORT = Number(env('OIDC_PORT'));
const ISSUER = env('OIDC_ISSUER');
const CLIENT = JSON.parse(env('OIDC_CLIENT'));
const USERS = JSON.parse(env('OIDC_USERS'));
const LOG = env('OIDC_LOG');
// Query parameters whose values are logged; any other one is logged by name only (codes,
// tokens, secrets and state stay out of the log).
const LOGGED_VALUES = new Set([
  'client_id', 'response_type', 'scope', 'redirect_uri', 'post_logout_redirect_uri',
]);

const bySub = new Map(Object.entries(USERS).map(([username, user]) => [user.sub, { username, ...user }]));

const provider = new Provider(ISSUER, {
  clients: [{
    ...CLIENT,
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_post',
  }],
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['preferred_username', 'name'],
  },
  async findAccount(ctx, sub) {
    const user = bySub.get(sub);
    if (!user) return undefined;
    return {
      accountId: sub,
      async claims() {
        return {
          sub,
          preferred_username: user.username,
          name: user.name || user.username,
          email: user.email,
          email_verified: Boolean(user.email_verified),
        };
      },
    };
  },
  cookies: { keys: [randomBytes(32).toString('hex')] },
  features: {
    devInteractions: { enabled: false },
    rpInitiatedLogout: {
      enabled: true,
      logoutSource(ctx, form) {
        ctx.body = page('Sign out', `<h1>Do you want to sign out of ${esc(ctx.host)}?</h1>${form}
          <button type="submit" form="op.logoutForm" value="yes" name="logout">Yes, sign me out</button>
          <button type="submit" form="op.logoutForm">No, stay signed in</button>`);
      },
      postLogoutSuccessSource(ctx) {
        ctx.body = page('Signed out', '<h1>You are signed out.</h1>');
      },
    },
  },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  renderError(ctx, out) {
    ctx.type = 'html';
    ctx.body = page('Error', `<h1>${esc(out.error)}</h1><p>${esc(out.error_description || '')}</p>`);
  },
});
provider.on('server_error', (ctx, err) => console.error('server_error', err));

function esc(text) {
  return String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function page(title, body) {
  return `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title></head>
<body>${body}</body></html>`;
}

function loginPage(uid, error) {
  return page('Sign in to the test provider', `<h1>Sign in to the test provider</h1>
    ${error ? `<p role="alert">${esc(error)}</p>` : ''}
    <form method="post" action="/interaction/${esc(uid)}">
      <label>Username <input name="username" autocomplete="username" required></label>
      <label>Password <input name="password" type="password" autocomplete="current-password" required></label>
      <button type="submit">Sign in</button>
    </form>`);
}

async function readForm(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

async function interaction(req, res, uid) {
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== uid) throw new Error('interaction mismatch');
  const { prompt, params, session } = details;
  if (prompt.name === 'consent') {
    const grant = details.grantId
      ? await provider.Grant.find(details.grantId)
      : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
    if (prompt.details.missingOIDCScope) grant.addOIDCScope(prompt.details.missingOIDCScope.join(' '));
    if (prompt.details.missingOIDCClaims) grant.addOIDCClaims(prompt.details.missingOIDCClaims);
    const grantId = await grant.save();
    await provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
    return;
  }
  if (req.method === 'POST') {
    const form = await readForm(req);
    const user = USERS[form.get('username') || ''];
    if (user && user.password === form.get('password')) {
      await provider.interactionFinished(req, res, { login: { accountId: user.sub } },
        { mergeWithLastSubmission: false });
      return;
    }
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(loginPage(uid, 'Invalid username or password.'));
    return;
  }
  res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
  res.end(loginPage(uid));
}

function logLine(req, res) {
  const url = new URL(req.url, ISSUER);
  const params = [...url.searchParams.entries()]
    .map(([key, value]) => (LOGGED_VALUES.has(key) ? `${key}=${value}` : key));
  const query = params.length ? `?${params.join('&')}` : '';
  const location = res.getHeader('location');
  const where = location ? ` -> ${String(location).split('?')[0]}` : '';
  appendFileSync(LOG, `${new Date().toISOString()} ${req.method} ${url.pathname}${query} ${res.statusCode}${where}\n`);
}

const callback = provider.callback();
const server = http.createServer((req, res) => {
  res.on('finish', () => logLine(req, res));
  const match = /^\/interaction\/([\w-]+)$/.exec(new URL(req.url, ISSUER).pathname);
  if (!match) {
    callback(req, res);
    return;
  }
  interaction(req, res, match[1]).catch((err) => {
    console.error('interaction failed', err);
    if (!res.headersSent) res.writeHead(400, { 'content-type': 'text/plain' });
    res.end(`interaction failed: ${err.message}`);
  });
});
server.listen(PORT, '127.0.0.1', () => console.log(`oidc-provider listening on 127.0.0.1:${PORT}, issuer ${ISSUER}`));
