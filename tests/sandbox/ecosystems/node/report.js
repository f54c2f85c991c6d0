// What the drivers share: the sandbox's environment (the `export` lines of
// `invoicesync sandbox serve`), and one JSON line per operation on stdout:
// {"op": "...", "ok": true|false, "detail": "..."}; tests/sandbox/test_ecosystems.py reads them.
'use strict';

function env(name) {
  const value = process.env[name];
  if (!value) {
    throw new Error(`${name} is not set: source the export lines of \`invoicesync sandbox serve\``);
  }
  return value;
}

// A QuickBooks Fault, an OAuth error body, an HTTP error or an exception, as one line.
function describe(err) {
  if (err === null || err === undefined) return String(err);
  const body = err.Fault ? err : err.response && err.response.data;
  if (body && body.Fault && body.Fault.Error) {
    const e = body.Fault.Error[0];
    return `Fault ${e.code} ${e.Message}: ${e.Detail}`;
  }
  if (body && body.fault && body.fault.error) {
    return `fault ${body.fault.error[0].code} (HTTP ${err.response.status})`;
  }
  if (err.response) return `HTTP ${err.response.status} ${JSON.stringify(err.response.data)}`;
  if (err.code && err.intuit_tid !== undefined) return `${err.code} ${err.message}`;
  if (err instanceof Error) return `${err.name}: ${err.message}`;
  return JSON.stringify(err).slice(0, 500);
}

// The QuickBooks fault code of a failed call, or undefined.
function faultCode(err) {
  const body = err && (err.Fault ? err : err.response && err.response.data);
  if (body && body.Fault && body.Fault.Error) return String(body.Fault.Error[0].code);
  if (body && body.fault && body.fault.error) return String(body.fault.error[0].code);
  return undefined;
}

function check(condition, message) {
  if (!condition) throw new Error(`unexpected answer: ${message}`);
}

// Run one operation; a thrown error or a failed check is reported, never fatal.
async function step(op, fn) {
  let line;
  try {
    const detail = await fn();
    line = { op, ok: true, detail: detail === undefined ? '' : String(detail) };
  } catch (err) {
    line = { op, ok: false, detail: describe(err) };
  }
  process.stdout.write(JSON.stringify(line) + '\n');
  return line.ok;
}

module.exports = { check, describe, env, faultCode, step };
