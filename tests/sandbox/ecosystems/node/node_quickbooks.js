// node-quickbooks (npm), the most used Node.js QuickBooks client, driven against
// `invoicesync sandbox serve` over every operation it offers on the entities the sandbox serves.
// Run: `. ./sandbox.env && node node_quickbooks.js`; one JSON line per operation on stdout.
'use strict';

const QuickBooks = require('node-quickbooks');
const { check, env, faultCode, step } = require('./report');

const API = env('INVOICESYNC_API_URL');
const REALM = env('INVOICESYNC_REALM_ID');
QuickBooks.TOKEN_URL = env('INVOICESYNC_TOKEN_URL');
QuickBooks.REVOKE_URL = env('INVOICESYNC_REVOKE_URL');

const qbo = new QuickBooks(
  env('INVOICESYNC_CLIENT_ID'), env('INVOICESYNC_CLIENT_SECRET'),
  null, false, REALM, false, false, 75, '2.0', env('INVOICESYNC_REFRESH_TOKEN'),
);
qbo.endpoint = `${API}/v3/company/`; // the base-URL override: not Intuit's host

// node-quickbooks' callback style as a promise: resolves the data, rejects the error.
function call(method, ...args) {
  return new Promise((resolve, reject) => {
    qbo[method](...args, (err, data) => (err ? reject(err) : resolve(data)));
  });
}

// An operation QuickBooks answers with a Fault: resolves its code.
async function fault(method, ...args) {
  try {
    await call(method, ...args);
  } catch (err) {
    const code = faultCode(err);
    if (code !== undefined) return code;
    throw err;
  }
  throw new Error(`${method} succeeded where a Fault was expected`);
}

const rows = (data, entity) => (data.QueryResponse && data.QueryResponse[entity]) || [];
const tag = Date.now().toString(36);
const ctx = {};

function salesLine(itemId, qty, price) {
  return {
    DetailType: 'SalesItemLineDetail',
    Amount: qty * price,
    SalesItemLineDetail: { ItemRef: { value: itemId }, Qty: qty, UnitPrice: price },
  };
}

async function oauthAndCompany() {
  await step('oauth.refresh', async () => {
    const before = qbo.refreshToken;
    const res = await call('refreshAccessToken');
    check(res.access_token && qbo.token === res.access_token, 'no access token');
    check(qbo.refreshToken && qbo.refreshToken !== before, 'refresh token not rotated');
  });
  await step('companyinfo.read', async () => {
    const info = await call('getCompanyInfo', REALM);
    check(info.CompanyName === 'Lingua Franca Translations LLC', info.CompanyName);
    ctx.info = info;
  });
  await step('companyinfo.update.sparse', async () => {
    const info = await call('updateCompanyInfo', {
      Id: ctx.info.Id, SyncToken: ctx.info.SyncToken, LegalName: 'Lingua Franca L.L.C.',
    });
    check(info.LegalName === 'Lingua Franca L.L.C.' && info.CompanyName === ctx.info.CompanyName,
      JSON.stringify(info));
    ctx.info = info;
  });
  await step('companyinfo.update.full', async () => {
    const full = { ...ctx.info, WebAddr: { URI: 'https://lingua.example' } };
    const info = await call('updateCompanyInfo', full);
    check(info.WebAddr.URI === 'https://lingua.example' && info.sparse === false, 'not updated');
  });
  await step('companyinfo.query', async () => {
    check(rows(await call('findCompanyInfos'), 'CompanyInfo').length === 1, 'not one row');
  });
  await step('preferences.read', async () => {
    ctx.prefs = await call('getPreferences');
    check(ctx.prefs.SalesFormsPrefs.CustomTxnNumbers === true, 'CustomTxnNumbers');
  });
  await step('preferences.update', async () => {
    const prefs = await call('updatePreferences', {
      Id: ctx.prefs.Id, SyncToken: ctx.prefs.SyncToken, SalesFormsPrefs: { CustomTxnNumbers: true },
    });
    check(Number(prefs.SyncToken) === Number(ctx.prefs.SyncToken) + 1, 'SyncToken');
  });
  await step('preferences.query', async () => {
    check(rows(await call('findPreferenceses'), 'Preferences').length === 1, 'not one row');
  });
}

async function queries() {
  const names = (data) => rows(data, 'Customer').map((c) => c.DisplayName);
  await step('query.all', async () => {
    const found = names(await call('findCustomers'));
    check(found.length === 7 && !found.includes('Initech'), found.join('|')); // active only
  });
  await step('query.equals.escaped', async () => {
    const found = names(await call('findCustomers', { DisplayName: "O'Brien & Partners LLP" }));
    check(found.join('|') === "O'Brien & Partners LLP", found.join('|'));
  });
  await step('query.like', async () => {
    const found = names(await call('findCustomers', [
      { field: 'DisplayName', value: '%corp%', operator: 'LIKE' },
    ]));
    check(found.join('|') === 'Globex Corporation', found.join('|'));
  });
  await step('query.in', async () => {
    const found = names(await call('findCustomers', { Id: ['1', '2'] }));
    check(found.join('|') === "Acme Localization Inc.|O'Brien & Partners LLP", found.join('|'));
  });
  await step('query.orderby.paging', async () => {
    const data = await call('findCustomers', { desc: 'DisplayName', offset: 2, limit: 2 });
    const found = names(data);
    check(found.join('|') === 'Northwind Traders|Müller Übersetzungen GmbH', found.join('|'));
    check(data.QueryResponse.startPosition === 2 && data.QueryResponse.maxResults === 2, 'paging');
  });
  await step('query.asc.and', async () => {
    const found = names(await call('findCustomers', [
      { field: 'Active', value: true }, { field: 'CurrencyRef', value: 'USD' },
      { field: 'asc', value: 'DisplayName' },
    ]));
    check(found[0] === 'Acme Localization Inc.' && !found.includes('Müller Übersetzungen GmbH'),
      found.join('|'));
  });
  await step('query.fetchAll', async () => {
    const data = await call('findCustomers', { fetchAll: true, limit: 3 });
    check(names(data).length === 7, `${names(data).length} rows`);
  });
  await step('query.string', async () => {
    const found = names(await call('findCustomers', 'where Active = false'));
    check(found.join('|') === 'Initech', found.join('|'));
  });
  await step('query.count', async () => {
    const data = await call('findCustomers', { count: true });
    check(data.QueryResponse.totalCount === 7, JSON.stringify(data.QueryResponse));
  });
  const lists = {
    findItems: 'Item', findTerms: 'Term', findTaxCodes: 'TaxCode', findTaxRates: 'TaxRate',
    findAccounts: 'Account', findInvoices: 'Invoice',
  };
  for (const [method, entity] of Object.entries(lists)) {
    await step(`query.${entity.toLowerCase()}`, async () => {
      const found = rows(await call(method), entity);
      check(found.length > 0, 'no rows');
      ctx[entity] = found;
    });
  }
  // What the later operations need, read another way when a query failed (the run goes on).
  const translation = (ctx.Item || []).find((i) => i.Name === 'Translation');
  ctx.item = translation ? translation.Id : '1';
  const income = (ctx.Account || []).find((a) => a.AccountType === 'Income');
  ctx.income = income ? income.Id : (await call('getItem', ctx.item)).IncomeAccountRef.value;
}

// create, read, sparse update, full update (a read entity sent back as it is: `sparse: false`)
async function crud(entity, body, sparse, full, check_) {
  await step(`${entity.toLowerCase()}.create`, async () => {
    ctx[entity] = await call(`create${entity}`, body);
    check(ctx[entity].Id && ctx[entity].SyncToken === '0', JSON.stringify(ctx[entity]));
    if (check_) check_(ctx[entity]);
  });
  await step(`${entity.toLowerCase()}.read`, async () => {
    const read = await call(`get${entity}`, ctx[entity].Id);
    check(read.Id === ctx[entity].Id, read.Id);
  });
  await step(`${entity.toLowerCase()}.update.sparse`, async () => {
    const changed = { Id: ctx[entity].Id, SyncToken: ctx[entity].SyncToken, ...sparse };
    ctx[entity] = await call(`update${entity}`, changed);
    for (const [k, v] of Object.entries(sparse)) check(ctx[entity][k] === v, `${k}`);
  });
  await step(`${entity.toLowerCase()}.update.full`, async () => {
    const read = await call(`get${entity}`, ctx[entity].Id);
    check(read.sparse === false, 'a read entity is not sparse');
    ctx[entity] = await call(`update${entity}`, { ...read, ...full });
    for (const [k, v] of Object.entries(full)) check(ctx[entity][k] === v, `${k}`);
    check(ctx[entity].SyncToken === '2', ctx[entity].SyncToken);
  });
  await step(`${entity.toLowerCase()}.query`, async () => {
    const found = rows(await call(`find${qbo.pluralize(entity)}`, { Id: ctx[entity].Id }), entity);
    check(found.length === 1, `${found.length} rows`);
  });
}

async function names() {
  await crud('Customer', { DisplayName: `Node ${tag}`, PrimaryEmailAddr: { Address: 'n@example.com' } },
    { CompanyName: 'Node Co' }, { Notes: 'full' });
  await step('customer.deactivate', async () => {
    const c = await call('updateCustomer', { Id: ctx.Customer.Id, SyncToken: ctx.Customer.SyncToken, Active: false });
    check(c.Active === false, 'still active');
  });
  await crud('Vendor', { DisplayName: `Vendor ${tag}` }, { CompanyName: 'V Co' }, { CompanyName: 'V2 Co' });
  await crud('Employee', { GivenName: 'Ada', FamilyName: `L${tag}` }, { GivenName: 'Ada B' }, { FamilyName: 'Lovelace' });
  await crud('Item', {
    Name: `Node item ${tag}`, Type: 'Service', UnitPrice: 12.5, IncomeAccountRef: { value: ctx.income },
  }, { UnitPrice: 14 }, { Description: 'full' });
  await crud('Term', { Name: `Net 45 ${tag}`, DueDays: 45 }, { DueDays: 40 }, { Name: `Net 40 ${tag}` });
  await crud('Account', { Name: `Node income ${tag}`, AccountType: 'Income' }, { Description: 'sparse' }, { AcctNum: '4999' });
  await step('taxcode.read', async () => {
    const code = await call('getTaxCode', ctx.TaxCode[0].Id);
    check(code.Name === ctx.TaxCode[0].Name, code.Name);
  });
  await step('taxrate.read', async () => {
    const rate = await call('getTaxRate', ctx.TaxRate[0].Id);
    check(rate.Name === ctx.TaxRate[0].Name, rate.Name);
  });
  // QuickBooks serves tax codes and rates read-only; the sandbox does not create them either.
  await step('taxcode.update.unsupported', async () => {
    const code = await fault('updateTaxCode', { ...ctx.TaxCode[0], Name: 'changed' });
    check(code === '500', code);
  });
  await step('taxrate.update.unsupported', async () => {
    const code = await fault('updateTaxRate', { ...ctx.TaxRate[0], Name: 'changed' });
    check(code === '500', code);
  });
  await step('taxservice.create.unsupported', async () => {
    const code = await fault('createTaxService', { TaxCode: 'Node', TaxRateDetails: [] });
    check(code === '500', code);
  });
}

module.exports = { call, check, ctx, fault, qbo, rows, salesLine, step, tag, oauthAndCompany, queries, names, API, REALM };

if (require.main === module) {
  require('./node_quickbooks_txns').main().catch((err) => {
    process.stderr.write(`driver stopped: ${err && err.stack}\n`);
    process.exit(1);
  });
}
