/*
 * AWS Signature Version 4, checked the way S3 checks it, for the test
 * object store (s3.js): s3rver itself does not verify signatures, so a
 * request our S3 loader signed wrongly would pass there and fail against
 * the real service. The computation follows AWS's published description
 * (canonical request, string to sign, derived key); `selftest` holds it to
 * two of AWS's published test-suite signatures.
 */
'use strict';

const crypto = require('crypto');

const ALGORITHM = 'AWS4-HMAC-SHA256';
const MAX_SKEW_MS = 15 * 60 * 1000; /* S3 refuses requests older or newer than this */

const hmac = (key, text) => crypto.createHmac('sha256', key).update(text, 'utf8').digest();
const sha256 = (data) => crypto.createHash('sha256').update(data).digest('hex');

/* %XX escapes to bytes; anything else is taken as it is. */
function unescape(text) {
  const bytes = [];
  for (let i = 0; i < text.length; i++) {
    const hex = text.substr(i + 1, 2);
    if (text[i] === '%' && /^[0-9A-Fa-f]{2}$/.test(hex)) {
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else {
      bytes.push(...Buffer.from(text[i], 'utf8'));
    }
  }
  return Buffer.from(bytes);
}

/* Every byte escaped but the unreserved ones (RFC 3986), as SigV4 wants. */
function escape(bytes) {
  let out = '';
  for (const b of bytes) {
    const c = String.fromCharCode(b);
    out += /[A-Za-z0-9\-_.~]/.test(c) ? c : `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/* S3's canonical path: each segment decoded and escaped once, not normalized. */
function canonicalPath(path) {
  return path === '' ? '/' : path.split('/').map((s) => escape(unescape(s))).join('/');
}

/* The query's name=value pairs escaped, sorted by name, then by value. */
function canonicalQuery(query) {
  const pairs = query.split('&').filter((p) => p !== '').map((p) => {
    const eq = p.indexOf('=');
    const name = eq < 0 ? p : p.slice(0, eq);
    const value = eq < 0 ? '' : p.slice(eq + 1);
    return [escape(unescape(name)), escape(unescape(value))];
  });
  pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
  return pairs.map(([n, v]) => `${n}=${v}`).join('&');
}

/*
 * The canonical request of { method, url (path and query as sent), headers
 * (lower-case names) }, signing the named headers, with the payload hash.
 */
function canonicalRequest(req, signedHeaders, payloadHash) {
  const q = req.url.indexOf('?');
  const path = q < 0 ? req.url : req.url.slice(0, q);
  const query = q < 0 ? '' : req.url.slice(q + 1);
  const headers = signedHeaders.map((h) => {
    const value = req.headers[h] === undefined ? '' : String(req.headers[h]);
    return `${h}:${value.trim().replace(/\s+/g, ' ')}\n`;
  });
  return [req.method, canonicalPath(path), canonicalQuery(query), headers.join(''),
    signedHeaders.join(';'), payloadHash].join('\n');
}

/* The hex signature of a canonical request for a scope
 * { date: YYYYMMDD, region, service } and the request's x-amz-date. */
function signature(canonical, secret, scope, amzDate) {
  const scopeText = `${scope.date}/${scope.region}/${scope.service}/aws4_request`;
  const toSign = [ALGORITHM, amzDate, scopeText, sha256(canonical)].join('\n');
  let key = hmac(`AWS4${secret}`, scope.date);
  for (const part of [scope.region, scope.service, 'aws4_request']) key = hmac(key, part);
  return hmac(key, toSign).toString('hex');
}

/* Credential, SignedHeaders and Signature of an Authorization header. */
function parseAuthorization(text) {
  const m = /^AWS4-HMAC-SHA256 Credential=([^,\s]+),\s*SignedHeaders=([^,\s]+),\s*Signature=([0-9a-f]{64})$/
    .exec(text);
  if (m === null) return null;
  const parts = m[1].split('/');
  if (parts.length !== 5 || parts[4] !== 'aws4_request') return null;
  const [keyId, date, region, service] = parts;
  return { keyId, scope: { date, region, service }, signed: m[2].split(';'), signature: m[3] };
}

const refuse = (status, code, message) => ({ status, code, message });

/*
 * Checks a request to S3 as S3 does. req: { method, url, headers }, body:
 * a Buffer, secrets: { accessKeyId: secret }, region: the store's (any
 * when not given). Returns null when the request is unsigned (left to the
 * store) or correctly signed, otherwise { status, code, message } to answer
 * with.
 */
function verifyS3(req, body, secrets, nowMs, region) {
  const header = req.headers.authorization;
  if (header === undefined) return null;
  const auth = parseAuthorization(header);
  if (auth === null) {
    return refuse(400, 'AuthorizationHeaderMalformed', `not a ${ALGORITHM} authorization: ${header}`);
  }
  if (!Object.prototype.hasOwnProperty.call(secrets, auth.keyId)) {
    return refuse(403, 'InvalidAccessKeyId', `unknown access key id ${auth.keyId}`);
  }
  if (region !== undefined && auth.scope.region !== region) {
    return refuse(400, 'AuthorizationHeaderMalformed',
      `the region '${auth.scope.region}' is wrong; expecting '${region}'`);
  }
  if (auth.scope.service !== 's3') {
    return refuse(400, 'AuthorizationHeaderMalformed', `the scope's service is ${auth.scope.service}, not s3`);
  }
  const amzDate = req.headers['x-amz-date'];
  if (!/^\d{8}T\d{6}Z$/.test(amzDate || '') || amzDate.slice(0, 8) !== auth.scope.date) {
    return refuse(400, 'AuthorizationHeaderMalformed',
      `x-amz-date ${amzDate} does not match the scope's date ${auth.scope.date}`);
  }
  const t = Date.UTC(+amzDate.slice(0, 4), +amzDate.slice(4, 6) - 1, +amzDate.slice(6, 8),
    +amzDate.slice(9, 11), +amzDate.slice(11, 13), +amzDate.slice(13, 15));
  if (Math.abs(t - nowMs) > MAX_SKEW_MS) {
    return refuse(403, 'RequestTimeTooSkewed', `x-amz-date ${amzDate} is more than 15 minutes off`);
  }
  const mustSign = Object.keys(req.headers).filter((h) => h.startsWith('x-amz-') || h === 'content-type');
  for (const name of ['host', ...mustSign]) {
    if (!auth.signed.includes(name)) {
      return refuse(403, 'AccessDenied', `header ${name} must be signed (SignedHeaders: ${auth.signed.join(';')})`);
    }
  }
  const payload = req.headers['x-amz-content-sha256'];
  if (payload === undefined) {
    return refuse(400, 'InvalidRequest', 'missing required header x-amz-content-sha256');
  }
  if (payload !== 'UNSIGNED-PAYLOAD' && payload !== sha256(body)) {
    return refuse(400, 'XAmzContentSHA256Mismatch',
      `x-amz-content-sha256 ${payload} is not the body's hash ${sha256(body)}`);
  }
  const canonical = canonicalRequest(req, auth.signed, payload);
  const expected = signature(canonical, secrets[auth.keyId], auth.scope, amzDate);
  if (expected !== auth.signature) {
    return refuse(403, 'SignatureDoesNotMatch',
      `the signature is not ${expected}; canonical request:\n${canonical}`);
  }
  return null;
}

/* AWS's test-suite requests "get-vanilla" and
 * "get-vanilla-query-order-key-case", and the S3 documentation's GET Object
 * (with Range) and list (?max-keys=2&prefix=J) examples through verifyS3,
 * with their published signatures. Returns the failures (empty when every
 * one matches). */
function selftest() {
  const secret = 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY';
  const scope = { date: '20150830', region: 'us-east-1', service: 'service' };
  const headers = { host: 'example.amazonaws.com', 'x-amz-date': '20150830T123600Z' };
  const vectors = [
    ['/', '5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31'],
    ['/?Param2=value2&Param1=value1', 'b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500'],
  ];
  const failures = [];
  for (const [url, published] of vectors) {
    const canonical = canonicalRequest({ method: 'GET', url, headers }, ['host', 'x-amz-date'], sha256(''));
    const got = signature(canonical, secret, scope, headers['x-amz-date']);
    if (got !== published) failures.push(`GET ${url}: ${got}, published ${published}`);
  }
  const s3secrets = { AKIAIOSFODNN7EXAMPLE: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' };
  const s3examples = [
    ['/test.txt', { range: 'bytes=0-9' }, 'host;range;x-amz-content-sha256;x-amz-date',
      'f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41'],
    ['/?max-keys=2&prefix=J', {}, 'host;x-amz-content-sha256;x-amz-date',
      '34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7'],
  ];
  for (const [url, extra, signed, published] of s3examples) {
    const req = { method: 'GET', url, headers: { host: 'examplebucket.s3.amazonaws.com',
      'x-amz-date': '20130524T000000Z', 'x-amz-content-sha256': sha256(''), ...extra,
      authorization: `${ALGORITHM} Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, `
        + `SignedHeaders=${signed}, Signature=${published}` } };
    const refused = verifyS3(req, Buffer.alloc(0), s3secrets, Date.UTC(2013, 4, 24), 'us-east-1');
    if (refused) failures.push(`S3 GET ${url}: ${refused.code}: ${refused.message.split('\n')[0]}`);
  }
  return failures;
}

module.exports = { verifyS3, selftest };
