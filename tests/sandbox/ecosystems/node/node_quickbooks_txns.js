// node-quickbooks, second half: transactions, files, batch, CDC, send, PDF and revoke.
'use strict';

const base = require('./node_quickbooks');

const { call, check, ctx, fault, qbo, rows, salesLine, step, tag } = base;

async function invoices() {
  const body = () => ({
    CustomerRef: { value: '1' },
    BillEmail: { Address: 'ap@acme.example' },
    DocNumber: `N-${tag}`,
    Line: [salesLine(ctx.item, 10, 25), salesLine(ctx.item, 1, 12.5)],
  });
  await step('invoice.create', async () => {
    ctx.inv = await call('createInvoice', body());
    check(ctx.inv.TotalAmt === 262.5 && ctx.inv.Balance === 262.5, ctx.inv.TotalAmt);
  });
  await step('invoice.read', async () => {
    check((await call('getInvoice', ctx.inv.Id)).DocNumber === `N-${tag}`, 'DocNumber');
  });
  await step('invoice.update.sparse', async () => {
    ctx.inv = await call('updateInvoice', { Id: ctx.inv.Id, SyncToken: ctx.inv.SyncToken, PrivateNote: 'node' });
    check(ctx.inv.PrivateNote === 'node' && ctx.inv.TotalAmt === 262.5, 'sparse update');
  });
  await step('invoice.update.full', async () => {
    const read = await call('getInvoice', ctx.inv.Id);
    read.Line[0].SalesItemLineDetail.Qty = 12;
    read.Line[0].Amount = 300;
    ctx.inv = await call('updateInvoice', read); // SubTotal line and all: as read
    check(ctx.inv.TotalAmt === 312.5 && ctx.inv.PrivateNote === 'node', ctx.inv.TotalAmt);
  });
  await step('invoice.pdf', async () => {
    const pdf = await call('getInvoicePdf', ctx.inv.Id);
    check(Buffer.isBuffer(pdf) && pdf.subarray(0, 5).toString() === '%PDF-', 'not a PDF');
  });
  await step('invoice.send.to', async () => {
    const sent = await call('sendInvoicePdf', ctx.inv.Id, 'billing@acme.example');
    check(sent.EmailStatus === 'EmailSent' && sent.BillEmail.Address === 'billing@acme.example', 'send');
  });
  // A second invoice with the same number, as `allowDuplicateDocNum` permits.
  await step('invoice.create.duplicate_docnumber', async () => {
    check((await fault('createInvoice', body())) === '6140', 'not 6140');
  });
  await step('invoice.create.allowDuplicateDocNum', async () => {
    const dup = await call('createInvoice', { ...body(), allowDuplicateDocNum: true });
    check(dup.DocNumber === `N-${tag}` && dup.Id !== ctx.inv.Id, dup.Id);
    ctx.dup = dup;
  });
  await step('invoice.create.requestId_replayed', async () => {
    const first = await call('createInvoice', { ...body(), DocNumber: `R-${tag}`, requestId: `rq-${tag}` });
    const again = await call('createInvoice', { ...body(), DocNumber: `R-${tag}`, requestId: `rq-${tag}` });
    check(first.Id === again.Id, `${first.Id} != ${again.Id}`);
  });
  await step('invoice.send', async () => {
    const sent = await call('sendInvoicePdf', ctx.dup.Id);
    check(sent.EmailStatus === 'EmailSent' && sent.BillEmail.Address === 'ap@acme.example', 'send');
  });
  await step('invoice.void', async () => {
    const data = await call('voidInvoice', ctx.dup.Id);
    check(data.Invoice.TotalAmt === 0 && data.Invoice.PrivateNote.startsWith('Voided'), 'void');
  });
  await step('invoice.delete', async () => {
    const data = await call('deleteInvoice', ctx.dup.Id);
    check(data.Invoice.status === 'Deleted', JSON.stringify(data));
    check((await fault('getInvoice', ctx.dup.Id)) === '610', 'deleted invoice still read');
  });
}

async function creditMemos() {
  await step('creditmemo.create', async () => {
    ctx.cm = await call('createCreditMemo', {
      CustomerRef: { value: '1' }, BillEmail: { Address: 'ap@acme.example' },
      Line: [salesLine(ctx.item, 1, 50)],
    });
    check(ctx.cm.TotalAmt === 50 && ctx.cm.RemainingCredit === 50, ctx.cm.TotalAmt);
  });
  await step('creditmemo.read', async () => {
    check((await call('getCreditMemo', ctx.cm.Id)).Id === ctx.cm.Id, 'read');
  });
  await step('creditmemo.update.sparse', async () => {
    ctx.cm = await call('updateCreditMemo', { Id: ctx.cm.Id, SyncToken: ctx.cm.SyncToken, PrivateNote: 'cm' });
    check(ctx.cm.PrivateNote === 'cm', 'sparse');
  });
  await step('creditmemo.update.full', async () => {
    const read = await call('getCreditMemo', ctx.cm.Id);
    ctx.cm = await call('updateCreditMemo', { ...read, CustomerMemo: { value: 'thanks' } });
    check(ctx.cm.CustomerMemo.value === 'thanks' && ctx.cm.PrivateNote === 'cm', 'full');
  });
  await step('creditmemo.query', async () => {
    check(rows(await call('findCreditMemos', { Id: ctx.cm.Id }), 'CreditMemo').length === 1, 'rows');
  });
  await step('creditmemo.pdf', async () => {
    const pdf = await call('getCreditMemoPdf', ctx.cm.Id);
    check(Buffer.isBuffer(pdf) && pdf.subarray(0, 5).toString() === '%PDF-', 'not a PDF');
  });
  await step('creditmemo.send', async () => {
    const sent = await call('sendCreditMemoPdf', ctx.cm.Id, 'billing@acme.example');
    check(sent.EmailStatus === 'EmailSent', JSON.stringify(sent));
  });
  await step('creditmemo.delete', async () => {
    const data = await call('deleteCreditMemo', ctx.cm.Id);
    check(data.CreditMemo.status === 'Deleted', JSON.stringify(data));
  });
}

async function payments() {
  const pay = (amount) => ({
    CustomerRef: { value: '1' }, TotalAmt: amount,
    Line: [{ Amount: amount, LinkedTxn: [{ TxnId: ctx.inv.Id, TxnType: 'Invoice' }] }],
  });
  await step('payment.create', async () => {
    ctx.pay = await call('createPayment', pay(100));
    const inv = await call('getInvoice', ctx.inv.Id);
    check(inv.Balance === 212.5, `Balance ${inv.Balance}`);
  });
  await step('payment.read', async () => {
    check((await call('getPayment', ctx.pay.Id)).TotalAmt === 100, 'read');
  });
  await step('payment.update.sparse', async () => {
    ctx.pay = await call('updatePayment', { Id: ctx.pay.Id, SyncToken: ctx.pay.SyncToken, PaymentRefNum: 'CHK-1' });
    check(ctx.pay.PaymentRefNum === 'CHK-1' && ctx.pay.TotalAmt === 100, 'sparse');
  });
  await step('payment.update.full', async () => {
    const read = await call('getPayment', ctx.pay.Id);
    ctx.pay = await call('updatePayment', { ...read, PrivateNote: 'full' });
    check(ctx.pay.PrivateNote === 'full' && ctx.pay.PaymentRefNum === 'CHK-1', 'full');
  });
  await step('payment.query', async () => {
    check(rows(await call('findPayments', { Id: ctx.pay.Id }), 'Payment').length === 1, 'rows');
  });
  await step('payment.void', async () => {
    const voided = await call('voidPayment', { Id: ctx.pay.Id, SyncToken: ctx.pay.SyncToken });
    const inv = await call('getInvoice', ctx.inv.Id);
    check(voided.TotalAmt === 0 && inv.Balance === 312.5, `Balance ${inv.Balance}`);
  });
  await step('payment.delete', async () => {
    const second = await call('createPayment', pay(10));
    const data = await call('deletePayment', second.Id);
    const inv = await call('getInvoice', ctx.inv.Id);
    check(data.Payment.status === 'Deleted' && inv.Balance === 312.5, `Balance ${inv.Balance}`);
  });
}

async function attachables() {
  const file = Buffer.from('%PDF-1.4 node-quickbooks\n');
  await step('attachable.upload.linked', async () => {
    const att = await call('upload', 'INV 1.pdf', 'application/pdf', file, 'Invoice', ctx.inv.Id);
    check(att.FileName === 'INV 1.pdf' && att.Size === file.length, JSON.stringify(att));
    check(att.AttachableRef[0].EntityRef.value === ctx.inv.Id, 'not linked');
    ctx.att = att;
  });
  await step('attachable.upload.alone', async () => {
    const att = await new Promise((resolve, reject) => {
      qbo.upload('notes.txt', 'text/plain', Buffer.from('hello'), (err, a) => (err ? reject(err) : resolve(a)));
    });
    check(att.ContentType === 'text/plain' && att.Size === 5, JSON.stringify(att));
  });
  await step('attachable.read', async () => {
    check((await call('getAttachable', ctx.att.Id)).FileName === 'INV 1.pdf', 'read');
  });
  await step('attachable.query', async () => {
    const found = rows(await call('findAttachables', { 'AttachableRef.EntityRef.value': ctx.inv.Id }), 'Attachable');
    check(found.length === 1 && found[0].Id === ctx.att.Id, `${found.length} rows`);
  });
  await step('attachable.create.note', async () => {
    ctx.note = await call('createAttachable', {
      Note: 'sent by post', AttachableRef: [{ EntityRef: { type: 'Invoice', value: ctx.inv.Id } }],
    });
    check(ctx.note.Note === 'sent by post', 'note');
  });
  await step('attachable.update', async () => {
    ctx.note = await call('updateAttachable', { Id: ctx.note.Id, SyncToken: ctx.note.SyncToken, Note: 'by courier' });
    check(ctx.note.Note === 'by courier', 'update');
  });
  await step('attachable.delete', async () => {
    const data = await call('deleteAttachable', ctx.note.Id);
    check(data.Attachable.status === 'Deleted', JSON.stringify(data));
  });
}

async function batchAndCdc() {
  const since = new Date(Date.now() - 3600 * 1000);
  await step('batch', async () => {
    const extra = await call('createInvoice', { CustomerRef: { value: '2' }, Line: [salesLine(ctx.item, 1, 5)] });
    const data = await call('batch', [
      { bId: 'c', operation: 'create', Invoice: { CustomerRef: { value: '1' }, Line: [salesLine(ctx.item, 2, 5)] } },
      { bId: 'q', Query: 'select * from customer where Active = true maxresults 2' },
      { bId: 'u', operation: 'update', Invoice: { Id: ctx.inv.Id, SyncToken: (await call('getInvoice', ctx.inv.Id)).SyncToken, sparse: true, PrivateNote: 'batch' } },
      { bId: 'd', operation: 'delete', Invoice: { Id: extra.Id, SyncToken: extra.SyncToken } },
    ]);
    const by = Object.fromEntries(data.BatchItemResponse.map((r) => [r.bId, r]));
    const faults = data.BatchItemResponse.filter((r) => r.Fault);
    check(faults.length === 0, JSON.stringify(faults));
    check(by.c.Invoice.TotalAmt === 10 && by.q.QueryResponse.Customer.length === 2, 'create/query');
    check(by.u.Invoice.PrivateNote === 'batch' && by.d.Invoice.status === 'Deleted', 'update/delete');
  });
  await step('cdc', async () => {
    const data = await call('changeDataCapture', ['Invoice', 'Customer', 'Payment'], since);
    const [inv, cust, pay] = data.CDCResponse[0].QueryResponse;
    check(inv.Invoice.some((i) => i.status === 'Deleted') && inv.Invoice.some((i) => i.Id === ctx.inv.Id), 'invoices');
    check(cust.Customer.length >= 1 && pay.Payment.length >= 1, 'customers, payments');
  });
}

async function revoke() {
  await step('oauth.revoke', async () => {
    const before = qbo.refreshToken;
    const [res] = await new Promise((resolve, reject) => {
      qbo.revokeAccess(true, (err, r) => (err ? reject(err) : resolve([r])));
    });
    check(res.status === 200, res.status);
    qbo.refreshToken = before; // revoked: the refresh token is refused from now on
    let refused = false;
    try {
      await call('refreshAccessToken');
    } catch (err) {
      refused = err.response && err.response.status === 400 && err.response.data.error === 'invalid_grant';
    }
    check(refused, 'a revoked refresh token still refreshes');
  });
}

async function main() {
  await base.oauthAndCompany();
  await base.queries();
  await base.names();
  await invoices();
  await creditMemos();
  await payments();
  await attachables();
  await batchAndCdc();
  await revoke();
}

module.exports = { main };
