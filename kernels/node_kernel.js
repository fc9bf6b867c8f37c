// SoulBox's JavaScript kernel: one persistent global scope per code context
// (declarations persist across cells, as in Node's REPL), top-level await,
// the last expression's value as the result. Protocol: kernels/README.md.
'use strict';
const fs = require('fs');
const util = require('util');
const vm = require('vm');

const EVENTS_FD = 3;
const REQUESTS_FD = 4;
let count = 0;
let interruptCurrent = null;  // rejects the running cell's await on SIGINT

function emit(kind, payload) {
  const line = payload === undefined ? kind : `${kind} ${JSON.stringify(payload)}`;
  const data = Buffer.from(line + '\n');
  let done = 0;
  while (done < data.length) done += fs.writeSync(EVENTS_FD, data, done);
}

function bundleOf(value, main) {
  const bundle = {is_main_result: main};
  if (value && typeof value === 'object' && typeof value.html === 'string' && value.__soulbox_html) {
    bundle.html = value.html;
  }
  bundle.text = typeof value === 'string' ? value : util.inspect(value, {depth: 4, colors: false});
  return bundle;
}

// display(): a rich result now; display.html(s) for HTML.
function display(...values) {
  for (const value of values) emit('result', bundleOf(value, false));
}
display.html = (html) => emit('result', {is_main_result: false, html: String(html), text: String(html)});

function errorOf(err) {
  if (err instanceof Error || (err && typeof err === 'object' && 'stack' in err)) {
    return {name: err.name || 'Error', value: String(err.message), traceback: String(err.stack || '')};
  }
  return {name: 'Error', value: String(err), traceback: ''};
}

// Cells with top-level await run as an async function: top-level
// declarations become globals so they persist, and the last line's value is
// returned when it is an expression.
function asyncSource(code) {
  const hoisted = code.replace(/^(?:const|let|var)\s+([A-Za-z_$][\w$]*)\s*=/gm, 'globalThis.$1 =');
  const lines = hoisted.trimEnd().split('\n');
  const last = lines.pop().replace(/;\s*$/, '');
  const body = lines.join('\n');
  const withReturn = `(async () => {\n${body}\nreturn (${last});\n})()`;
  try {
    new vm.Script(withReturn);
    return withReturn;
  } catch (_) {
    return `(async () => {\n${hoisted}\n})()`;
  }
}

function compile(code, filename) {
  try {
    return new vm.Script(code, {filename});
  } catch (err) {
    if (!(err instanceof SyntaxError) || !/await/.test(code)) throw err;
    return new vm.Script(asyncSource(code), {filename});
  }
}

async function runCell(code) {
  const filename = `<cell-${count}>`;
  let value = compile(code, filename).runInThisContext({breakOnSigint: true, displayErrors: false});
  if (value && typeof value.then === 'function') {
    value = await new Promise((resolve, reject) => {
      interruptCurrent = () => reject(Object.assign(new Error('interrupted'), {name: 'KeyboardInterrupt'}));
      value.then(resolve, reject);
    });
  }
  if (value !== undefined) emit('result', bundleOf(value, true));
}

async function execute(code, env) {
  count += 1;
  const saved = {};
  for (const [key, value] of Object.entries(env)) {
    saved[key] = process.env[key];
    process.env[key] = value;
  }
  try {
    await runCell(code);
  } catch (err) {
    if (err && err.code === 'ERR_SCRIPT_EXECUTION_INTERRUPTED') {
      emit('error', {name: 'KeyboardInterrupt', value: 'interrupted', traceback: String(err.stack || '')});
    } else {
      emit('error', errorOf(err));
    }
  } finally {
    interruptCurrent = null;
    for (const [key, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  }
  emit('end');
}

// Requests: NUL-terminated fields (op, code, n, n × KEY=VALUE), queued and
// run one at a time.
function requestReader(onRequest) {
  let pending = Buffer.alloc(0);
  const fields = [];
  return (chunk) => {
    pending = Buffer.concat([pending, chunk]);
    let nul;
    while ((nul = pending.indexOf(0)) >= 0) {
      fields.push(pending.subarray(0, nul).toString('utf8'));
      pending = pending.subarray(nul + 1);
      if (fields.length >= 3 && fields.length === 3 + Number(fields[2] || 0)) {
        const [op, code, , ...envs] = fields.splice(0);
        const env = {};
        for (const kv of envs) {
          const eq = kv.indexOf('=');
          if (eq > 0) env[kv.slice(0, eq)] = kv.slice(eq + 1);
        }
        onRequest(op, code, env);
      }
    }
  };
}

function main() {
  globalThis.require = require;
  globalThis.module = module;
  globalThis.display = display;
  process.on('SIGINT', () => {
    if (interruptCurrent) interruptCurrent();
  });
  process.on('uncaughtException', (err) => process.stderr.write(`Uncaught ${err && err.stack || err}\n`));
  process.on('unhandledRejection', (err) => process.stderr.write(`Unhandled rejection ${err && err.stack || err}\n`));
  let queue = Promise.resolve();
  const input = fs.createReadStream(null, {fd: REQUESTS_FD, highWaterMark: 1 << 16});
  input.on('data', requestReader((op, code, env) => {
    if (op === 'x') queue = queue.then(() => execute(code, env));
  }));
  input.on('end', () => process.exit(0));
  emit('ready');
}

main();
