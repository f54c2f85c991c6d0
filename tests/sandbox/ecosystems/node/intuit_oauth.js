// intuit-oauth (npm), Intuit's own Node.js OAuth 2.0 client, driven against
// `invoicesync sandbox serve --auto-approve`: the code flow, API calls with `makeApiCall`,
// refresh, and revoke. Run: `. ./sandbox.env && node intuit_oauth.js`.
'use strict';

const OAuthClient = require('intuit-oauth');
const { check, env, step } = require('./report');

const API = env('INVOICESYNC_API_URL');
const REDIRECT = 'http://localhost:8765/callback';
const client = new OAuthClient({
  clientId: env('INVOICESYNC_CLIENT_ID'),
  clientSecret: env('INVOICESYNC_CLIENT_SECRET'),
  environment: 'sandbox',
  redirectUri: REDIRECT,
  includeRefreshTokenHardExpiresIn: true,
});
client.setAuthorizeURLs({ // the base-URL override: the sandbox's endpoints, not Intuit's
  authorizeEndpoint: env('INVOICESYNC_AUTH_URL'),
  tokenEndpoint: env('INVOICESYNC_TOKEN_URL'),
  revokeEndpoint: env('INVOICESYNC_REVOKE_URL'),
  userInfoEndpoint: `${API}/v1/openid_connect/userinfo`,
});
const ctx = {};
const company = (path) => `${API}/v3/company/${ctx.realm}/${path}`;

async function codeFlow() {
  await step('oauth.authorize', async () => {
    const url = client.authorizeUri({ scope: [OAuthClient.scopes.Accounting], state: 'st-1' });
    // What the browser does: the consent page (auto-approved) redirects to the app.
    const res = await fetch(url, { redirect: 'manual' });
    check(res.status === 302, `HTTP ${res.status}`);
    ctx.callback = res.headers.get('location');
    check(ctx.callback.startsWith(`${REDIRECT}?`) && ctx.callback.includes('state=st-1'), ctx.callback);
  });
  await step('oauth.createToken', async () => {
    const res = await client.createToken(ctx.callback);
    const token = client.getToken();
    ctx.realm = token.realmId;
    check(ctx.realm === env('INVOICESYNC_REALM_ID'), ctx.realm);
    check(res.json.expires_in === 3600 && token.x_refresh_token_expires_in > 0, 'lifetimes');
    check(res.json.x_refresh_token_hard_expires_in > 0, 'hard expiry not sent');
    check(client.isAccessTokenValid(), 'access token not valid');
  });
}

async function apiCalls() {
  await step('api.companyinfo.read', async () => {
    const res = await client.makeApiCall({ url: company(`companyinfo/${ctx.realm}?minorversion=75`) });
    check(res.json.CompanyInfo.CompanyName === 'Lingua Franca Translations LLC', res.body);
  });
  await step('api.query', async () => {
    const res = await client.makeApiCall({
      url: company('query'),
      params: { query: "SELECT * FROM Customer WHERE DisplayName LIKE '%corp%'", minorversion: 75 },
    });
    const names = res.json.QueryResponse.Customer.map((c) => c.DisplayName);
    check(names.join('|') === 'Globex Corporation', names.join('|'));
  });
  await step('api.invoice.create', async () => {
    const res = await client.makeApiCall({
      url: company('invoice?minorversion=75'),
      method: 'POST',
      body: {
        CustomerRef: { value: '1' },
        Line: [{ DetailType: 'SalesItemLineDetail', Amount: 275,
          SalesItemLineDetail: { ItemRef: { value: '1' }, Qty: 1, UnitPrice: 275 } }],
      },
    });
    check(res.status === 200 && res.json.Invoice.TotalAmt === 275, res.body);
  });
  await step('api.fault', async () => {
    let error;
    try {
      await client.makeApiCall({ url: company('query'), params: { query: 'select * from widget' } });
    } catch (err) {
      error = err;
    }
    check(error && error.code === '4001', error && `${error.code} ${error.message}`);
  });
}

async function refreshAndRevoke() {
  await step('oauth.refresh', async () => {
    ctx.first = client.getToken().refresh_token;
    await client.refresh();
    check(client.getToken().refresh_token !== ctx.first, 'refresh token not rotated');
  });
  await step('oauth.refreshUsingToken', async () => {
    await client.refreshUsingToken(client.getToken().refresh_token);
    const res = await client.makeApiCall({ url: company(`companyinfo/${ctx.realm}`) });
    check(res.status === 200, res.status);
  });
  await step('oauth.revoke', async () => {
    const revoked = client.getToken().refresh_token;
    await client.revoke({ refresh_token: revoked }); // a JSON body, as Intuit documents
    let refused = false;
    try {
      await client.refreshUsingToken(revoked);
    } catch (err) {
      refused = /invalid_grant/.test(JSON.stringify(err.authResponse && err.authResponse.json) + err.message);
    }
    check(refused, 'a revoked refresh token still refreshes');
  });
}

async function main() {
  await codeFlow();
  await apiCalls();
  await refreshAndRevoke();
}

main().catch((err) => {
  process.stderr.write(`driver stopped: ${err && err.stack}\n`);
  process.exit(1);
});
