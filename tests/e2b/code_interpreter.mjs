// The unmodified @e2b/code-interpreter SDK against SoulBox: runCode in
// python, javascript and java (state, streamed stdout, results, errors, env vars),
// a matplotlib chart, a DataFrame, and code contexts (create, list, run in,
// restart, remove). Prints one JSON line of what happened; the C++ test
// (tests/integration/gateway_test.cc) checks it.
import { Sandbox } from '@e2b/code-interpreter'

const out = {}
const sbx = await Sandbox.create({ timeoutMs: 120000 })  // template code-interpreter-v1
out.sandboxId = sbx.sandboxId

await sbx.runCode('x = 41')
const streamed = []
const answer = await sbx.runCode('print("thinking")\nx + 1', { onStdout: (m) => streamed.push(m.line) })
out.answer = { text: answer.text, stdout: answer.logs.stdout, streamed, count: answer.executionCount }

const failed = await sbx.runCode('1 / 0')
out.error = failed.error ? { name: failed.error.name, value: failed.error.value, traceback: failed.error.traceback } : null

const env = await sbx.runCode('import os\nos.environ["RUN_VAR"]', { envs: { RUN_VAR: 'per-run' } })
out.env = env.text

const plot = await sbx.runCode(`
import numpy as np
import matplotlib.pyplot as plt
x = np.linspace(0, 2 * np.pi, 100)
plt.plot(x, np.sin(x))
plt.title('Sine wave')
plt.show()`)
const figure = plot.results[0]
out.chart = figure ? {
  formats: figure.formats(),
  pngBytes: figure.png ? Buffer.from(figure.png, 'base64').length : 0,
  pngMagic: figure.png ? Buffer.from(figure.png, 'base64').subarray(1, 4).toString() : '',
  chartType: figure.chart ? figure.chart.type : null,
  chartTitle: figure.chart ? figure.chart.title : null,
  points: figure.chart ? figure.chart.elements[0].points.length : 0,
  isMain: figure.isMainResult,
} : null

const frame = await sbx.runCode("import pandas as pd\npd.DataFrame({'a': [1, 2], 'b': [3, 4]})")
out.dataframe = { html: (frame.results[0] && frame.results[0].html || '').includes('<table'), text: frame.text }

const js = await sbx.runCode('const greeting = "hi from js"; greeting.length', { language: 'javascript' })
const js2 = await sbx.runCode('greeting.toUpperCase()', { language: 'javascript' })
out.js = { first: js.text, second: js2.text }

const java = await sbx.runCode('int answer = 40;', { language: 'java' })
const java2 = await sbx.runCode('answer + 2', { language: 'java' })
out.java = { first: java.text === undefined ? null : java.text, second: java2.text, error: java.error ? java.error.name : null }

const ctx = await sbx.createCodeContext({ language: 'python', cwd: '/tmp' })
out.context = { language: ctx.language, cwd: ctx.cwd, hasId: typeof ctx.id === 'string' && ctx.id.length > 0 }
await sbx.runCode('y = "in context"', { context: ctx })
out.inContext = (await sbx.runCode('import os\n(y, os.getcwd())', { context: ctx })).text
out.defaultSeesY = (await sbx.runCode("'y' in globals()")).text
out.listed = (await sbx.listCodeContexts()).map((c) => c.id).includes(ctx.id)
await sbx.restartCodeContext(ctx)
out.afterRestart = (await sbx.runCode("'y' in globals()", { context: ctx })).text
await sbx.removeCodeContext(ctx)
try {
  await sbx.runCode('1', { context: ctx })
  out.removed = 'ran'
} catch (e) {
  out.removed = { name: e.name, message: e.message }
}
out.killed = await sbx.kill()
console.log(JSON.stringify(out))
