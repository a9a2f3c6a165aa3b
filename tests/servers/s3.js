#!/usr/bin/env node
/*
 * S3-compatible object store for the integration tests: s3rver, pinned in
 * package.json beside this file and installed by `make testtools` into
 * build/testtools (or $CVG_TESTTOOLS).
 *
 *   s3.js PORT DATADIR [--bucket NAME]... [--seed KEY=FILE]... [--seed-dir DIR]
 *         [--region NAME] [--verbose]
 *
 * Listens on 127.0.0.1:PORT (0: a free port of its choosing) and keeps the
 * objects under DATADIR in s3rver's own layout. It creates each bucket
 * ("test-bucket" when none is named), uploads the seeds into the first one
 * (--seed-dir: every file under DIR, keyed by its relative path), then
 * prints "ready 127.0.0.1:PORT". SIGTERM stops it with exit code 0.
 *
 * s3rver takes requests signed with access key S3RVER (secret S3RVER) and
 * unsigned ones, but it does not check signatures: this script puts a front
 * on PORT that checks each signed request as S3 does (sigv4.js: signature,
 * scope, the store's region when --region names it, clock skew, signed
 * x-amz-* and Content-Type headers, payload hash) and answers a wrong one
 * with S3's error (403 SignatureDoesNotMatch, ...), then passes the rest to
 * s3rver on a port of its own. Paths are path-style: /BUCKET/KEY. s3rver
 * resolves dot segments in a path itself ("/b/x/../y" reads "y"), which S3
 * does not: a test of how keys are sent reads what the client sent, not
 * what s3rver stored.
 *
 *   s3.js --selftest   checks sigv4.js against AWS's published signatures
 */
'use strict';

const fs = require('fs');
const http = require('http');
const path = require('path');
const sigv4 = require('./sigv4.js');

const SECRETS = { S3RVER: 'S3RVER' };

if (process.argv[2] === '--selftest') {
  const failures = sigv4.selftest();
  for (const f of failures) console.error(`s3.js: sigv4 selftest: ${f}`);
  console.log(failures.length ? 'sigv4 selftest FAILED' : 'sigv4 selftest ok');
  process.exit(failures.length ? 1 : 0);
}

const tools = process.env.CVG_TESTTOOLS || path.join(__dirname, '..', '..', 'build', 'testtools');
let S3rver;
try {
  S3rver = require(path.join(tools, 'node_modules', 's3rver'));
} catch (err) {
  console.error(`s3.js: s3rver is not installed in ${tools} (run \`make testtools\`): ${err.message}`);
  process.exit(2);
}

const [port, dir, ...rest] = process.argv.slice(2);
if (port === undefined || dir === undefined) {
  console.error('usage: s3.js PORT DATADIR [--bucket NAME]... [--seed KEY=FILE]... [--seed-dir DIR] [--region NAME]');
  process.exit(2);
}
const buckets = [];
const seeds = []; // [key, file]
let verbose = false;
let region;
for (let i = 0; i < rest.length; i++) {
  const opt = rest[i];
  if (opt === '--bucket') {
    buckets.push(rest[++i]);
  } else if (opt === '--seed') {
    const eq = (rest[++i] || '').indexOf('=');
    if (eq < 1) {
      console.error(`s3.js: --seed takes KEY=FILE, not ${rest[i]}`);
      process.exit(2);
    }
    seeds.push([rest[i].slice(0, eq), rest[i].slice(eq + 1)]);
  } else if (opt === '--seed-dir') {
    const root = rest[++i];
    const walk = (d) => {
      for (const e of fs.readdirSync(d, { withFileTypes: true })) {
        const p = path.join(d, e.name);
        if (e.isDirectory()) walk(p);
        else seeds.push([path.relative(root, p).split(path.sep).join('/'), p]);
      }
    };
    walk(root);
  } else if (opt === '--region') {
    region = rest[++i];
  } else if (opt === '--verbose') {
    verbose = true;
  } else {
    console.error(`s3.js: unknown option ${opt}`);
    process.exit(2);
  }
}
if (buckets.length === 0) buckets.push('test-bucket');

/* An unsigned PUT through the server's own S3 interface. */
function put(addr, key, file) {
  const body = fs.readFileSync(file);
  const keyPath = key.split('/').map(encodeURIComponent).join('/');
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: addr.address, port: addr.port, method: 'PUT', path: `/${buckets[0]}/${keyPath}`,
        headers: { 'Content-Length': body.length } },
      (res) => {
        res.resume();
        res.on('end', () => (res.statusCode === 200 ? resolve()
          : reject(new Error(`seeding ${key}: status ${res.statusCode}`))));
      });
    req.on('error', reject);
    req.end(body);
  });
}

const server = new S3rver({
  address: '127.0.0.1',
  port: 0,
  directory: dir,
  silent: !verbose,
  configureBuckets: buckets.map((name) => ({ name })),
});

const xml = (s) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/* The front: checks the signature, then hands the request to s3rver. */
function front(store) {
  return http.createServer((req, res) => {
    const chunks = [];
    req.on('error', () => res.destroy());
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const refused = sigv4.verifyS3(req, body, SECRETS, Date.now(), region);
      if (refused) {
        if (verbose) console.error(`s3.js: ${req.method} ${req.url}: ${refused.code}: ${refused.message}`);
        const text = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${refused.code}</Code>`
          + `<Message>${xml(refused.message)}</Message></Error>`;
        res.writeHead(refused.status, { 'Content-Type': 'application/xml', 'Content-Length': Buffer.byteLength(text) });
        res.end(text);
        return;
      }
      const inner = http.request({ host: store.address, port: store.port, method: req.method,
        path: req.url, headers: req.headers }, (answer) => {
        res.writeHead(answer.statusCode, answer.headers);
        answer.pipe(res);
      });
      inner.on('error', (err) => {
        if (res.headersSent) { /* cut off mid-answer: so is the client */
          res.destroy();
          return;
        }
        res.writeHead(502, { 'Content-Type': 'text/plain' });
        res.end(`s3.js: the store did not answer: ${err.message}`);
      });
      /* a client gone before the answer ends takes its inner request along */
      res.on('close', () => { if (!res.writableFinished) inner.destroy(); });
      inner.end(body);
    });
  });
}

let frontServer = null;

server.run().then(async (addr) => {
  for (const [key, file] of seeds) await put(addr, key, file);
  frontServer = front(addr);
  await new Promise((resolve, reject) => {
    frontServer.once('error', reject);
    frontServer.listen(Number(port), '127.0.0.1', resolve);
  });
  console.log(`ready 127.0.0.1:${frontServer.address().port}`);
}).catch((err) => {
  console.error(`s3.js: ${err.stack || err}`);
  process.exit(1);
});

const stop = () => {
  /* Keep-alive connections would hold close() up on Node 18. */
  for (const s of [server.httpServer, frontServer]) {
    if (s && s.closeAllConnections) s.closeAllConnections();
  }
  if (frontServer) frontServer.close();
  server.close().finally(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
