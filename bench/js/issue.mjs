// The JS reference issuing the credentials `didvc issuer` issues: @digitalbazaar/vc signing
// AgentCredentials (two status entries each) one after another with one Ed25519 key, contexts
// from didvc's own copies (no network). Prints one JSON line: {"count", "seconds", "last"}, the
// last credential issued included so that the caller can check it.
// Run: node bench/js/issue.mjs COUNT SUITE   (after `npm ci --prefix bench/js`)
import {readFileSync} from 'node:fs';
import {createHash, randomUUID} from 'node:crypto';
import * as vc from '@digitalbazaar/vc';
import {DataIntegrityProof} from '@digitalbazaar/data-integrity';
import * as Ed25519Multikey from '@digitalbazaar/ed25519-multikey';
import {cryptosuite as rdfc} from '@digitalbazaar/eddsa-rdfc-2022-cryptosuite';
import {createSignCryptosuite as jcsSign} from '@digitalbazaar/eddsa-jcs-2022-cryptosuite';

const [count, suiteName] = [Number(process.argv[2] ?? 2000), process.argv[3] ?? 'eddsa-rdfc-2022'];
const contexts = new URL('../../didvc/contexts/', import.meta.url);
const manifest = JSON.parse(readFileSync(new URL('MANIFEST.json', contexts)));
const documents = new Map();
for (const [url, file] of Object.entries(manifest)) {
  if (url.startsWith('_')) continue;
  documents.set(url, JSON.parse(readFileSync(new URL(file, contexts))));
}
const documentLoader = async url => {
  const document = documents.get(url);
  if (!document) throw new Error(`no local context for ${url}`);
  return {contextUrl: null, documentUrl: url, document};
};

const agentContext = readFileSync(new URL('didvc-agent-v1.jsonld', contexts));
const digestSRI = 'sha384-' + createHash('sha384').update(agentContext).digest('base64');

const keyPair = await Ed25519Multikey.generate();
const issuer = `did:key:${keyPair.publicKeyMultibase}`;
keyPair.controller = issuer;
keyPair.id = `${issuer}#${keyPair.publicKeyMultibase}`;
const suite = new DataIntegrityProof({
  signer: keyPair.signer(), cryptosuite: suiteName === 'eddsa-jcs-2022' ? jcsSign() : rdfc
});

function credential(n) {
  const now = new Date(), until = new Date(now.getTime() + 86400e3);
  const iso = d => d.toISOString().replace(/\.\d{3}Z$/, 'Z');
  const index = String(n), base = 'https://status.example/status';
  return {
    '@context': ['https://www.w3.org/ns/credentials/v2', 'https://w3id.org/didvc/agent/v1'],
    id: `urn:uuid:${randomUUID()}`,
    type: ['VerifiableCredential', 'AgentCredential'],
    issuer,
    validFrom: iso(now),
    validUntil: iso(until),
    credentialSubject: {id: `did:example:agent-${n}`, scope: ['orders:read'], owner: 'Acme'},
    relatedResource: [{id: 'https://w3id.org/didvc/agent/v1', digestSRI}],
    credentialStatus: [
      {id: `${base}/1#${index}`, type: 'BitstringStatusListEntry', statusPurpose: 'revocation',
        statusListIndex: index, statusListCredential: `${base}/1`},
      {id: `${base}/2#${index}`, type: 'BitstringStatusListEntry', statusPurpose: 'suspension',
        statusListIndex: index, statusListCredential: `${base}/2`}
    ]
  };
}

await vc.issue({credential: credential(-1), suite, documentLoader});  // warm the caches
const started = process.hrtime.bigint();
let last;
for (let n = 0; n < count; n++) {
  last = await vc.issue({credential: credential(n), suite, documentLoader});
}
const seconds = Number(process.hrtime.bigint() - started) / 1e9;
console.log(JSON.stringify({count, seconds, last}));
