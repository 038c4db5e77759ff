// A real OpenID Provider for the single sign-on tests: oidc-provider (a
// certified implementation) on 127.0.0.1 over https, configured the way the
// gateway's production IdP is described in docs/identity.md:
//
//   - a login form (interactions) for browser logins, consent given on login;
//   - the device authorization grant (public client llm-gateway-cli);
//   - refresh tokens (rotated for public clients);
//   - client credentials (confidential client ci-llm-review);
//   - access tokens for the gateway as JWTs (aud llm-gateway) with the
//     account's or the service account's groups in a "groups" claim;
//   - a JWKS that can rotate, and test-only admin endpoints under /__admin
//     (reachable from loopback only, like everything here).
//
// Usage: node op.mjs CONFIG.json  (written by tests/integration/gwtest/op.py)
// Prints one line "ready <port>" on stdout when it accepts connections.
//
// Keys are made here (node:crypto); a rotation builds a new Provider over
// the same store, so sessions, grants and refresh tokens live through it.

import crypto from 'node:crypto';
import fs from 'node:fs';
import https from 'node:https';
import querystring from 'node:querystring';

import Provider from 'oidc-provider';
import MemoryAdapter from 'oidc-provider/lib/adapters/memory_adapter.js';

const config = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const accounts = config.accounts;            // {login: {password, groups, email}}
const RESOURCE = 'urn:llm-gateway';          // resource indicator of the gateway
const AUDIENCE = config.audience || 'llm-gateway';

// One store for every Provider this process builds (see rotation).
const store = new Map();
class Adapter extends MemoryAdapter {
  constructor(model) { super(model, store); }
}

let signingKeys = [newKey()];                // published; the first one signs
let jwksDown = false;                        // /jwks answers 503 while true
let current;                                 // {provider, handle}: the Provider in use

function newKey() {
  const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = privateKey.export({ format: 'jwk' });
  jwk.kid = crypto.randomBytes(8).toString('hex');
  jwk.alg = 'RS256';
  jwk.use = 'sig';
  return jwk;
}

function esc(s) {
  return String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function page(title, body) {
  return `<!DOCTYPE html><html><head><meta charset="utf-8"><title>${esc(title)}</title></head>`
    + `<body><h1>${esc(title)}</h1>${body}</body></html>`;
}

function accountClaims(login) {
  const a = accounts[login];
  return {
    sub: login,
    preferred_username: login,
    email: a.email || `${login}@example.test`,
    groups: a.groups || [],
  };
}

function buildProvider(issuer) {
  const ttl = config.ttl || {};
  const provider = new Provider(issuer, {
    adapter: Adapter,
    clients: config.clients,
    jwks: { keys: signingKeys },
    cookies: { keys: [config.cookieKey] },
    claims: {
      openid: ['sub'],
      profile: ['preferred_username'],
      email: ['email'],
      groups: ['groups'],
    },
    scopes: ['openid', 'offline_access', 'profile', 'email', 'groups'],
    // The scopes' claims in the ID token too (as Keycloak's mappers put
    // them there): the gateway's browser login authorizes on "groups".
    conformIdTokenClaims: false,
    async findAccount(ctx, id) {
      if (!accounts[id]) return undefined;
      return { accountId: id, async claims() { return accountClaims(id); } };
    },
    interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
    features: {
      devInteractions: { enabled: false },
      // Pages of our own: the defaults load web fonts (no internet here).
      deviceFlow: {
        enabled: true,
        async userCodeInputSource(ctx, form, out, err) {
          ctx.body = page('Device login', (err ? '<p id="error">That code did not work.</p>' : '')
            + `${form}<button type="submit" id="continue" form="op.deviceInputForm">Continue</button>`);
        },
        async userCodeConfirmSource(ctx, form, client, deviceInfo, userCode) {
          ctx.body = page('Confirm device', `<p>Code <code id="user-code">${esc(userCode)}</code></p>`
            + `${form}<button type="submit" id="continue" form="op.deviceConfirmForm">Continue</button>`
            + '<button type="submit" id="abort" form="op.deviceConfirmForm" value="yes" name="abort">Abort</button>');
        },
        async successSource(ctx) {
          ctx.body = page('Device login done', '<p id="done">You may close this window.</p>');
        },
      },
      clientCredentials: { enabled: true },
      revocation: { enabled: true },
      rpInitiatedLogout: {
        enabled: true,
        async logoutSource(ctx, form) {
          ctx.body = page('Sign out', `${form}<button type="submit" id="logout-yes" form="op.logoutForm" value="yes" name="logout">Sign out</button>`);
        },
        async postLogoutSuccessSource(ctx) {
          ctx.body = page('Signed out', '<p id="signed-out">You are signed out.</p>');
        },
      },
      resourceIndicators: {
        enabled: true,
        defaultResource: async () => RESOURCE,
        useGrantedResource: async () => true,
        getResourceServerInfo: async (ctx, indicator) => {
          if (indicator !== RESOURCE) throw new Provider.errors.InvalidTarget();
          return {
            scope: 'llm',
            audience: AUDIENCE,
            accessTokenTTL: ttl.accessToken || 600,
            accessTokenFormat: 'jwt',
            jwt: { sign: { alg: 'RS256' } },
          };
        },
      },
    },
    // The gateway reads who and which groups from its access token.
    async extraTokenClaims(ctx, token) {
      if (token.accountId && accounts[token.accountId]) {
        const c = accountClaims(token.accountId);
        return { groups: c.groups, preferred_username: c.preferred_username, email: c.email };
      }
      if (token.kind === 'ClientCredentials') {
        const client = config.clients.find((c) => c.client_id === token.clientId);
        return { groups: (client && client.groups) || [] };
      }
      return undefined;
    },
    async issueRefreshToken(ctx, client) {
      return client.grantTypeAllowed('refresh_token');
    },
    pkce: { required: () => false },
    ttl: {
      AccessToken: ttl.accessToken || 600,
      ClientCredentials: ttl.accessToken || 600,
      IdToken: 600,
      RefreshToken: ttl.refreshToken || 3600,
      DeviceCode: 600,
      Interaction: 600,
      Session: 3600,
      Grant: 3600,
    },
  });
  provider.proxy = false;
  return provider;
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    let data = '';
    req.setEncoding('utf8');
    req.on('data', (d) => { data += d; if (data.length > 65536) req.destroy(); });
    req.on('end', () => resolve(querystring.parse(data)));
    req.on('error', reject);
  });
}

function send(res, status, type, body) {
  res.writeHead(status, { 'Content-Type': type, 'Cache-Control': 'no-store' });
  res.end(body);
}

// Consent is part of the login here: grant what the client asked for.
async function grantConsent(provider, details) {
  const { prompt: { details: missing }, params, session } = details;
  let grant = details.grantId
    ? await provider.Grant.find(details.grantId)
    : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
  if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
  if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
  if (missing.missingResourceScopes) {
    for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes)) {
      grant.addResourceScope(indicator, scopes.join(' '));
    }
  }
  return grant.save();
}

async function interaction(req, res, provider) {
  const details = await provider.interactionDetails(req, res);
  if (details.prompt.name === 'login') {
    if (req.method === 'POST') {
      const form = await readBody(req);
      const a = accounts[form.login];
      if (!a || a.password !== form.password) {
        return send(res, 200, 'text/html; charset=utf-8', loginForm(details.uid, 'Wrong login or password.'));
      }
      return provider.interactionFinished(req, res, { login: { accountId: form.login } },
        { mergeWithLastSubmission: false });
    }
    return send(res, 200, 'text/html; charset=utf-8', loginForm(details.uid, ''));
  }
  const grantId = await grantConsent(provider, details);
  return provider.interactionFinished(req, res, { consent: { grantId } },
    { mergeWithLastSubmission: true });
}

function loginForm(uid, error) {
  return page('Sign in to the test IdP',
    (error ? `<p id="error">${esc(error)}</p>` : '')
    + `<form method="post" action="/interaction/${esc(uid)}">`
    + '<label>Login <input name="login" id="login" autocomplete="username"></label> '
    + '<label>Password <input name="password" id="password" type="password"></label> '
    + '<button type="submit" id="submit">Sign in</button></form>');
}

// Test-only controls.  POST /__admin/rotate: a new signing key first, the
// old ones still published.  POST /__admin/retire (kid=...): stop publishing
// a key.  POST /__admin/jwks (down=1|0): the JWKS answers 503 or not.
// POST /__admin/expire-refresh-tokens: every refresh token issued so far
// expires now.  GET /__admin/keys: the published kids, signing one first.
async function admin(req, res, issuer) {
  const form = req.method === 'POST' ? await readBody(req) : {};
  const path = req.url.split('?')[0];
  if (path === '/__admin/rotate' && req.method === 'POST') {
    signingKeys = [newKey(), ...signingKeys];
    current = serve(buildProvider(issuer));
  } else if (path === '/__admin/retire' && req.method === 'POST') {
    signingKeys = signingKeys.filter((k) => k.kid !== form.kid);
    current = serve(buildProvider(issuer));
  } else if (path === '/__admin/jwks' && req.method === 'POST') {
    jwksDown = form.down === '1';
  } else if (path === '/__admin/expire-refresh-tokens' && req.method === 'POST') {
    const past = Math.floor(Date.now() / 1000) - 60;
    for (const [key, value] of store) {
      if (key.startsWith('RefreshToken:') && value && typeof value === 'object') value.exp = past;
    }
  } else if (!(path === '/__admin/keys' && req.method === 'GET')) {
    return send(res, 404, 'text/plain', 'no such admin endpoint\n');
  }
  return send(res, 200, 'application/json', JSON.stringify({
    kids: signingKeys.map((k) => k.kid), jwks_down: jwksDown,
  }));
}

function serve(provider) {
  return { provider, handle: provider.callback() };
}

const server = https.createServer({
  cert: fs.readFileSync(config.tlsCert),
  key: fs.readFileSync(config.tlsKey),
});

server.listen(config.port || 0, '127.0.0.1', () => {
  const { port } = server.address();
  const issuer = `https://127.0.0.1:${port}`;
  current = serve(buildProvider(issuer));
  server.on('request', async (req, res) => {
    const { provider, handle } = current;
    try {
      if (req.url.startsWith('/__admin/')) return await admin(req, res, issuer);
      if (jwksDown && req.url.split('?')[0] === '/jwks') {
        return send(res, 503, 'text/plain', 'JWKS unavailable (test outage)\n');
      }
      if (req.url.startsWith('/interaction/')) return await interaction(req, res, provider);
      return handle(req, res);
    } catch (err) {
      process.stderr.write(`op: ${req.method} ${req.url.split('?')[0]}: ${err && err.stack}\n`);
      if (!res.headersSent) send(res, 500, 'text/plain', 'OP error\n');
      return undefined;
    }
  });
  process.stdout.write(`ready ${port}\n`);
});
