// Test keys and tokens for the gateway's JWT checks, made with node's own
// crypto (no JWT library): writes <dir>/jwks.json (an RSA and a P-256 public
// key) and <dir>/hs256.secret, and prints one JSON object of tokens, good
// and hostile. Usage: node jwt_tokens.mjs <dir> <issuer> <audience>
import crypto from 'node:crypto'
import fs from 'node:fs'

const [dir, iss, aud] = process.argv.slice(2)
const b64u = (buf) => Buffer.from(buf).toString('base64url')
const now = Math.floor(Date.now() / 1000)
const rsa = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 })
const ec = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' })
const secret = crypto.randomBytes(32).toString('hex')
fs.writeFileSync(`${dir}/hs256.secret`, secret)
const jwks = {
  keys: [
    { ...rsa.publicKey.export({ format: 'jwk' }), kid: 'rsa-1', alg: 'RS256', use: 'sig' },
    { ...ec.publicKey.export({ format: 'jwk' }), kid: 'ec-1', alg: 'ES256', use: 'sig' },
  ],
}
fs.writeFileSync(`${dir}/jwks.json`, JSON.stringify(jwks))

function sign(header, claims, how) {
  const input = `${b64u(JSON.stringify(header))}.${b64u(JSON.stringify(claims))}`
  let sig = ''
  if (how === 'rs') sig = crypto.sign('sha256', Buffer.from(input), rsa.privateKey)
  if (how === 'es') sig = crypto.sign('sha256', Buffer.from(input), { key: ec.privateKey, dsaEncoding: 'ieee-p1363' })
  if (how === 'hs') sig = crypto.createHmac('sha256', secret).update(input).digest()
  if (how === 'hs-public') {
    const pem = rsa.publicKey.export({ format: 'pem', type: 'spki' })
    sig = crypto.createHmac('sha256', pem).update(input).digest()
  }
  return `${input}.${b64u(sig)}`
}

const claims = (extra = {}) => ({ iss, aud, sub: 'alice', tenant: 'gw-j', roles: ['developer'], exp: now + 600, ...extra })
const rs = { alg: 'RS256', typ: 'JWT', kid: 'rsa-1' }
const es = { alg: 'ES256', typ: 'JWT', kid: 'ec-1' }
const good = sign(rs, claims(), 'rs')
const [h, , s] = good.split('.')
const tokens = {
  rs_developer: good,
  es_viewer: sign(es, claims({ sub: 'bob', roles: 'viewer' }), 'es'),
  hs_admin: sign({ alg: 'HS256', typ: 'JWT' }, claims({ sub: 'carol', roles: ['admin'] }), 'hs'),
  other_tenant: sign(rs, claims({ sub: 'mallory', tenant: 'gw-other', roles: ['admin'] }), 'rs'),
  no_roles: sign(rs, claims({ sub: 'dave', roles: [] }), 'rs'),
  expired: sign(rs, claims({ exp: now - 3600 }), 'rs'),
  not_yet: sign(rs, claims({ nbf: now + 3600 }), 'rs'),
  no_exp: sign(rs, (({ exp, ...c }) => c)(claims()), 'rs'),
  wrong_issuer: sign(rs, claims({ iss: 'https://evil.example' }), 'rs'),
  wrong_audience: sign(rs, claims({ aud: 'someone-else' }), 'rs'),
  alg_none: `${b64u(JSON.stringify({ alg: 'none', typ: 'JWT' }))}.${b64u(JSON.stringify(claims({ roles: ['admin'] })))}.`,
  hs_with_public_key: sign({ alg: 'HS256', typ: 'JWT', kid: 'rsa-1' }, claims({ roles: ['admin'] }), 'hs-public'),
  tampered: `${h}.${b64u(JSON.stringify(claims({ roles: ['admin'] })))}.${s}`,
  unknown_kid: sign({ ...rs, kid: 'nope' }, claims(), 'rs'),
  es_as_rs: sign({ ...es, alg: 'RS256', kid: 'ec-1' }, claims(), 'es'),
}
console.log(JSON.stringify(tokens))
