#!/usr/bin/env node
/*
 * S3-compatible object store for the integration tests: s3rver, pinned in
 * package.json beside this file and installed by `make testtools` into
 * build/testtools (or $CVG_TESTTOOLS).
 *
 *   s3.js PORT DATADIR [--bucket NAME]... [--seed KEY=FILE]... [--seed-dir DIR]
 *         [--verbose]
 *
 * Listens on 127.0.0.1:PORT (0: a free port of its choosing) and keeps the
 * objects under DATADIR in s3rver's own layout. It creates each bucket
 * ("test-bucket" when none is named), uploads the seeds into the first one
 * (--seed-dir: every file under DIR, keyed by its relative path), then
 * prints "ready 127.0.0.1:PORT". SIGTERM stops it with exit code 0.
 *
 * s3rver takes requests signed with access key S3RVER (secret S3RVER) and
 * unsigned ones; it does not check signatures, and a SigV4 request needs an
 * x-amz-content-sha256 header. Paths are path-style: /BUCKET/KEY.
 */
'use strict';

const fs = require('fs');
const http = require('http');
const path = require('path');

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
  console.error('usage: s3.js PORT DATADIR [--bucket NAME]... [--seed KEY=FILE]... [--seed-dir DIR]');
  process.exit(2);
}
const buckets = [];
const seeds = []; // [key, file]
let verbose = false;
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
  port: Number(port),
  directory: dir,
  silent: !verbose,
  configureBuckets: buckets.map((name) => ({ name })),
});

server.run().then(async (addr) => {
  for (const [key, file] of seeds) await put(addr, key, file);
  console.log(`ready 127.0.0.1:${addr.port}`);
}).catch((err) => {
  console.error(`s3.js: ${err.stack || err}`);
  process.exit(1);
});

const stop = () => {
  /* Keep-alive connections would hold close() up on Node 18. */
  if (server.httpServer && server.httpServer.closeAllConnections) {
    server.httpServer.closeAllConnections();
  }
  server.close().finally(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
