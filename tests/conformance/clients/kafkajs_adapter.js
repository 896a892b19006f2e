#!/usr/bin/env node
// Conformance adapter for kafkajs 2.2.4 (tests/conformance/runner.py has the
// contract, docs/conformance.md the scenarios).  kafkajs comes from
// tests/clients/node_modules (scripts/bootstrap); kafkajs ships gzip only, so
// snappy, lz4 and zstd are the third-party codec packages kafkajs documents
// (kafkajs-snappy, kafkajs-lz4, @kafkajs/zstd), installed in
// tests/conformance/clients/kafkajs by setup.d/40-kafkajs.sh.
//
// Prints "RESULT <scenario> PASS|FAIL [detail]" per scenario on stdout (with
// these codecs kafkajs has every feature the scenarios use, so never N/A);
// kafkajs' own log goes to stderr. Arguments, if any, pick scenarios by name.
'use strict';

process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1';

const fs = require('fs');
const path = require('path');

const env = (k) => {
  const v = process.env[k];
  if (v === undefined) throw new Error(`${k} is not set`);
  return v;
};
const REPO = env('KC_REPO');
const PREFIX = env('KC_PREFIX');
const kjs = require(path.join(REPO, 'tests', 'clients', 'node_modules', 'kafkajs'));
const { Kafka, CompressionTypes, CompressionCodecs, ConfigResourceTypes, logLevel } = kjs;

const codecDir = path.join(REPO, 'tests', 'conformance', 'clients', 'kafkajs', 'node_modules');
const codecErrors = {};
function loadCodec(type, load) {
  try {
    CompressionCodecs[type] = load();
  } catch (e) {
    codecErrors[type] = e.message.split('\n')[0];
  }
}
loadCodec(CompressionTypes.Snappy, () => require(path.join(codecDir, 'kafkajs-snappy')));
loadCodec(CompressionTypes.LZ4, () => new (require(path.join(codecDir, 'kafkajs-lz4')))().codec);
loadCodec(CompressionTypes.ZSTD, () => require(path.join(codecDir, '@kafkajs/zstd'))());

// Counts the codec's calls, so a compression scenario can tell that the
// producer compressed and that what the broker returned had to be decompressed.
const codecCalls = {};
for (const type of [CompressionTypes.GZIP, CompressionTypes.Snappy, CompressionTypes.LZ4, CompressionTypes.ZSTD]) {
  if (codecErrors[type]) continue;
  const factory = CompressionCodecs[type];
  const calls = (codecCalls[type] = { compress: 0, decompress: 0 });
  CompressionCodecs[type] = () => {
    const c = factory();
    return {
      compress: (encoder) => { calls.compress++; return c.compress(encoder); },
      decompress: (buffer) => { calls.decompress++; return c.decompress(buffer); },
    };
  };
}

const logCreator = () => ({ namespace, level, label, log }) => {
  const { message, ...extra } = log;
  process.stderr.write(`[kafkajs ${label} ${namespace}] ${message} ${JSON.stringify(extra)}\n`);
};

function client(name, { brokers = env('KC_BOOTSTRAP'), sasl, ssl, retries = 5 } = {}) {
  return new Kafka({
    clientId: `kavka-conformance-${name}`,
    brokers: [brokers],
    sasl,
    ssl,
    logLevel: logLevel.WARN,
    logCreator,
    connectionTimeout: 3000,
    requestTimeout: 10000,
    retry: { retries, initialRetryTime: 100, maxRetryTime: 2000 },
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
class Fail extends Error {}
function check(cond, msg) {
  if (!cond) throw new Fail(msg);
}

// Everything connected during a scenario is disconnected at its end.
let open = [];
async function connect(c) {
  open.push(c);
  await c.connect();
  return c;
}
async function closeAll() {
  const cs = open;
  open = [];
  for (const c of cs.reverse()) {
    try {
      await c.disconnect();
    } catch (e) {
      process.stderr.write(`disconnect: ${e.message}\n`);
    }
  }
}

async function waitFor(what, cond, timeoutMs = 20000, stepMs = 100) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await cond();
    if (v) return v;
    if (Date.now() > deadline) throw new Fail(`timed out waiting for ${what}`);
    await sleep(stepMs);
  }
}

async function createTopic(kafka, topic, numPartitions, configEntries) {
  const admin = await connect(kafka.admin());
  const created = await admin.createTopics({
    topics: [{ topic, numPartitions, replicationFactor: 1, configEntries }],
    waitForLeaders: true,
  });
  check(created === true, `createTopics(${topic}) answered ${created} (already there?)`);
  await admin.disconnect();
  open = open.filter((c) => c !== admin);
}

const consumerOpts = (groupId) => ({
  groupId,
  sessionTimeout: 6000,
  rebalanceTimeout: 10000,
  heartbeatInterval: 500,
  maxWaitTimeInMs: 200,
  retry: { retries: 5, initialRetryTime: 100, maxRetryTime: 2000 },
});

// Consumes `topic` from the beginning in a new group until `n` records came,
// then for `settleMs` more (so duplicates would show), and disconnects.
async function consumeN(kafka, topic, groupId, n, { settleMs = 700, timeoutMs = 25000 } = {}) {
  const consumer = kafka.consumer(consumerOpts(groupId));
  await connect(consumer);
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  const got = [];
  await consumer.run({
    eachMessage: async ({ partition, message }) => {
      got.push({
        partition,
        offset: Number(message.offset),
        key: message.key,
        value: message.value,
        headers: message.headers,
      });
    },
  });
  await waitFor(`${n} records from ${topic} (got ${got.length})`, () => got.length >= n, timeoutMs);
  await sleep(settleMs);
  await consumer.disconnect();
  open = open.filter((c) => c !== consumer);
  return got;
}

const str = (b) => (b === null || b === undefined ? b : b.toString());

// ---- scenarios ----

async function produceConsume() {
  const kafka = client('pc');
  const topic = `${PREFIX}-pc`;
  await createTopic(kafka, topic, 3);
  const h2 = (i) => Buffer.from([0x00, 0xff, i & 0xff, 0x80, 0x0a]);
  const producer = await connect(kafka.producer());
  const messages = [];
  for (let i = 0; i < 100; i++) {
    messages.push({ key: `k${i % 10}`, value: `v${i}`, headers: { h1: String(i), h2: h2(i) } });
  }
  // sent in order: ten sends of ten records, each awaited
  for (let i = 0; i < 100; i += 10) {
    await producer.send({ topic, messages: messages.slice(i, i + 10) });
  }
  const got = await consumeN(kafka, topic, `${PREFIX}-pc-g`, 100);
  check(got.length === 100, `read ${got.length} records, want 100`);
  const seen = new Map();
  const lastByKey = new Map();
  const partOfKey = new Map();
  for (const r of got) {
    const v = str(r.value);
    check(/^v\d+$/.test(v), `unexpected value ${v}`);
    const i = Number(v.slice(1));
    check(i >= 0 && i < 100, `unexpected value ${v}`);
    check(!seen.has(i), `record ${v} read twice`);
    seen.set(i, r);
    check(str(r.key) === `k${i % 10}`, `record ${v}: key ${str(r.key)}, want k${i % 10}`);
    const hk = Object.keys(r.headers).sort().join(',');
    check(hk === 'h1,h2', `record ${v}: headers ${hk}, want h1,h2`);
    check(str(r.headers.h1) === String(i), `record ${v}: h1=${str(r.headers.h1)}`);
    check(Buffer.isBuffer(r.headers.h2) && r.headers.h2.equals(h2(i)),
      `record ${v}: h2=${r.headers.h2 && r.headers.h2.toString('hex')}, want ${h2(i).toString('hex')}`);
    const k = str(r.key);
    if (partOfKey.has(k)) check(partOfKey.get(k) === r.partition, `key ${k} in two partitions`);
    partOfKey.set(k, r.partition);
    if (lastByKey.has(k)) check(lastByKey.get(k) < i, `key ${k}: v${i} after v${lastByKey.get(k)}`);
    lastByKey.set(k, i);
  }
  check(seen.size === 100, `${seen.size} distinct records`);
  const parts = new Set(got.map((r) => r.partition));
  return `100 records, headers intact, per-key order kept, ${parts.size} partitions used`;
}

async function compression(name, type) {
  // an install defect (setup.d/40-kafkajs.sh not run), not a missing feature
  check(!codecErrors[type], `the ${name} codec package did not load: ${codecErrors[type]}`);
  const calls = codecCalls[type];
  const kafka = client(name);
  const topic = `${PREFIX}-${name}`;
  await createTopic(kafka, topic, 3);
  const producer = await connect(kafka.producer());
  // 200 records in 4 sends of 50: each send is one compressed batch per partition.
  const value = (i) => `${name}-v${i}-` + 'x'.repeat(100 + (i % 17));
  for (let s = 0; s < 4; s++) {
    const messages = [];
    for (let i = s * 50; i < (s + 1) * 50; i++) messages.push({ key: `k${i % 7}`, value: value(i) });
    await producer.send({ topic, compression: type, messages });
  }
  const got = await consumeN(kafka, topic, `${PREFIX}-${name}-g`, 200);
  check(got.length === 200, `read ${got.length} records, want 200`);
  const seen = new Set();
  const lastByPart = new Map();
  for (const r of got) {
    const v = str(r.value);
    const m = /^[a-z0-9]+-v(\d+)-x+$/.exec(v);
    check(m, `unexpected value ${v && v.slice(0, 40)}`);
    const i = Number(m[1]);
    check(v === value(i), `record ${i}: value corrupted`);
    check(!seen.has(i), `record ${i} read twice`);
    seen.add(i);
    const last = lastByPart.get(r.partition);
    if (last) check(last.i < i && last.offset < r.offset, `partition ${r.partition}: record ${i} after ${last.i}`);
    lastByPart.set(r.partition, { i, offset: r.offset });
  }
  check(calls.compress >= 4, `the ${name} codec compressed ${calls.compress} times for 4 sends`);
  check(calls.decompress >= 1, `the consumer decompressed no ${name} batch: the broker returned them uncompressed`);
  return `200 records in 4 ${name} sends (${calls.compress} batches compressed, ${calls.decompress} decompressed on read), intact and in order per partition`;
}

async function groupRebalance() {
  const kafka = client('grp');
  const topic = `${PREFIX}-grp`;
  const groupId = `${PREFIX}-grp-g`;
  await createTopic(kafka, topic, 4);
  const assigned = { A: null, B: null };
  const start = async (name) => {
    const c = kafka.consumer(consumerOpts(groupId));
    c.on(c.events.GROUP_JOIN, (e) => {
      assigned[name] = (e.payload.memberAssignment[topic] || []).slice().sort();
      process.stderr.write(`group-rebalance: ${name} joined, owns [${assigned[name]}]\n`);
    });
    await connect(c);
    await c.subscribe({ topics: [topic], fromBeginning: true });
    await c.run({ eachMessage: async () => {} });
    return c;
  };
  const all = (x) => x && x.join(',') === '0,1,2,3';
  const a = await start('A');
  await waitFor('A to own all 4 partitions', () => all(assigned.A));
  const b = await start('B');
  await waitFor('A and B to split the 4 partitions', () => {
    const { A, B } = assigned;
    if (!A || !B || A.length === 0 || B.length === 0) return false;
    const union = [...A, ...B].sort((x, y) => x - y);
    return union.join(',') === '0,1,2,3';
  });
  const split = `A [${assigned.A}] B [${assigned.B}]`;
  await b.disconnect();
  open = open.filter((c) => c !== b);
  await waitFor('A to own all 4 again after B left', () => all(assigned.A));
  await a.disconnect();
  return `A all 4; with B: ${split}; B left: A all 4`;
}

async function committedOffsets() {
  const kafka = client('off');
  const topic = `${PREFIX}-off`;
  const groupId = `${PREFIX}-off-g`;
  await createTopic(kafka, topic, 1);
  const producer = await connect(kafka.producer());
  await producer.send({ topic, messages: [...Array(10).keys()].map((i) => ({ value: `v${i}` })) });

  // first member: consumes 5, commits offset 5, leaves
  const c1 = kafka.consumer(consumerOpts(groupId));
  await connect(c1);
  await c1.subscribe({ topics: [topic], fromBeginning: true });
  const first = [];
  let committed = null;
  await c1.run({
    autoCommit: false,
    eachMessage: async ({ message }) => {
      if (first.length < 5) {
        first.push(Number(message.offset));
        if (first.length === 5) {
          committed = c1.commitOffsets([{ topic, partition: 0, offset: '5' }]).then(() => true);
        }
      }
    },
  });
  await waitFor('5 records for the first member', () => committed);
  await committed;
  check(first.join(',') === '0,1,2,3,4', `first member read offsets ${first}`);
  await c1.disconnect();
  open = open.filter((c) => c !== c1);

  const admin = await connect(kafka.admin());
  const offs = await admin.fetchOffsets({ groupId, topics: [topic] });
  const p0 = offs.find((t) => t.topic === topic).partitions.find((p) => p.partition === 0);
  check(p0 && p0.offset === '5', `fetchOffsets answered ${JSON.stringify(offs)}`);

  // second member of the same group starts at the committed offset
  const c2 = kafka.consumer(consumerOpts(groupId));
  await connect(c2);
  await c2.subscribe({ topics: [topic], fromBeginning: true });
  const second = [];
  await c2.run({
    autoCommit: false,
    eachMessage: async ({ message }) => {
      second.push([Number(message.offset), str(message.value)]);
    },
  });
  await waitFor('5 records for the second member', () => second.length >= 5);
  await sleep(500);
  const want = [5, 6, 7, 8, 9].map((i) => `${i}:v${i}`).join(',');
  const have = second.map(([o, v]) => `${o}:${v}`).join(',');
  check(have === want, `second member read ${have}, want ${want}`);
  return 'first member read 0-4 and committed 5; fetchOffsets=5; second member read 5-9';
}

async function metadataPartitions(admin, topic) {
  const md = await admin.fetchTopicMetadata({ topics: [topic] });
  const t = md.topics.find((x) => x.name === topic);
  return t ? t.partitions.length : -1;
}

async function adminTopics() {
  const kafka = client('adm');
  const admin = await connect(kafka.admin());
  const topic = `${PREFIX}-adm`;
  const created = await admin.createTopics({
    topics: [{ topic, numPartitions: 2, replicationFactor: 1,
      configEntries: [{ name: 'retention.ms', value: '3600000' }] }],
    waitForLeaders: true,
  });
  check(created === true, `createTopics answered ${created}`);
  check((await admin.listTopics()).includes(topic), 'listTopics lacks the new topic');
  let n = await metadataPartitions(admin, topic);
  check(n === 2, `fetchTopicMetadata: ${n} partitions, want 2`);
  await admin.createPartitions({ topicPartitions: [{ topic, count: 4 }] });
  n = await waitFor('4 partitions in the metadata', async () => {
    const k = await metadataPartitions(admin, topic);
    return k === 4 ? k : false;
  }, 10000, 200);
  await admin.deleteTopics({ topics: [topic] });
  await waitFor('the topic to leave listTopics', async () => !(await admin.listTopics()).includes(topic),
    10000, 200);
  return 'created with 2 partitions, listed, described 2, grew to 4, deleted, gone from the listing';
}

async function describeConfigs() {
  const kafka = client('cfg');
  const admin = await connect(kafka.admin());
  const topic = `${PREFIX}-cfg`;
  await createTopic(kafka, topic, 1, [{ name: 'retention.ms', value: '3600000' }]);
  const describe = async () => {
    const r = await admin.describeConfigs({
      resources: [{ type: ConfigResourceTypes.TOPIC, name: topic }],
      includeSynonyms: false,
    });
    const res = r.resources.find((x) => x.resourceName === topic);
    check(res && res.errorCode === 0, `describeConfigs(topic) answered ${JSON.stringify(r.resources)}`);
    return res.configEntries;
  };
  let entries = await describe();
  let e = entries.find((x) => x.configName === 'retention.ms');
  check(e, `retention.ms not among the ${entries.length} topic configs`);
  check(e.configValue === '3600000', `retention.ms=${e.configValue}, want 3600000`);
  check(e.isDefault === false, `retention.ms marked default (${JSON.stringify(e)})`);
  const r = await admin.alterConfigs({
    validateOnly: false,
    resources: [{ type: ConfigResourceTypes.TOPIC, name: topic,
      configEntries: [{ name: 'retention.ms', value: '7200000' }] }],
  });
  check(r.resources.every((x) => x.errorCode === 0), `alterConfigs answered ${JSON.stringify(r)}`);
  entries = await describe();
  e = entries.find((x) => x.configName === 'retention.ms');
  check(e && e.configValue === '7200000', `after alter: retention.ms=${e && e.configValue}, want 7200000`);
  check(e.isDefault === false, 'after alter: retention.ms marked default');
  const cluster = await admin.describeCluster();
  const brokerId = String(cluster.brokers[0].nodeId);
  const br = await admin.describeConfigs({
    resources: [{ type: ConfigResourceTypes.BROKER, name: brokerId }],
    includeSynonyms: false,
  });
  const bres = br.resources.find((x) => x.resourceName === brokerId);
  check(bres && bres.errorCode === 0, `describeConfigs(broker ${brokerId}) answered ${JSON.stringify(br.resources)}`);
  check(bres.configEntries.length > 0, 'broker configs came back empty');
  return `topic retention.ms 3600000 (non-default) -> 7200000; broker ${brokerId}: ${bres.configEntries.length} entries`;
}

// Produces and consumes 10 records through `kafka`.
async function roundTrip(kafka, tag) {
  const topic = `${PREFIX}-${tag}`;
  await createTopic(kafka, topic, 1);
  const producer = await connect(kafka.producer());
  await producer.send({ topic, messages: [...Array(10).keys()].map((i) => ({ key: `k${i}`, value: `${tag}-${i}` })) });
  const got = await consumeN(kafka, topic, `${topic}-g`, 10);
  const have = got.map((r) => str(r.value)).join(',');
  const want = [...Array(10).keys()].map((i) => `${tag}-${i}`).join(',');
  check(have === want, `read ${have}, want ${want}`);
}

// A client with a wrong password must be refused with an authentication error.
async function refused(mechanism, username) {
  const kafka = client(`bad-${mechanism}`, {
    brokers: env('KC_SASL_BOOTSTRAP'),
    sasl: { mechanism, username, password: 'wrong-password' },
    retries: 0,
  });
  const admin = kafka.admin();
  try {
    await admin.connect();
    await admin.listTopics();
  } catch (e) {
    check(e.name === 'KafkaJSSASLAuthenticationError',
      `${mechanism} wrong password: ${e.name}: ${e.message} (want KafkaJSSASLAuthenticationError)`);
    return e.message;
  } finally {
    await admin.disconnect().catch(() => {});
  }
  throw new Fail(`${mechanism} with a wrong password was accepted`);
}

async function saslPlain() {
  const kafka = client('plain', {
    brokers: env('KC_SASL_BOOTSTRAP'),
    sasl: { mechanism: 'plain', username: env('KC_PLAIN_USER'), password: env('KC_PLAIN_PASSWORD') },
  });
  await roundTrip(kafka, 'plain');
  await refused('plain', env('KC_PLAIN_USER'));
  return '10 records over SASL/PLAIN; wrong password refused (KafkaJSSASLAuthenticationError)';
}

async function saslScram() {
  for (const mechanism of ['scram-sha-256', 'scram-sha-512']) {
    const kafka = client(mechanism, {
      brokers: env('KC_SASL_BOOTSTRAP'),
      sasl: { mechanism, username: env('KC_SCRAM_USER'), password: env('KC_SCRAM_PASSWORD') },
    });
    await roundTrip(kafka, mechanism.replace(/-/g, ''));
    await refused(mechanism, env('KC_SCRAM_USER'));
  }
  return '10 records each over SCRAM-SHA-256 and SCRAM-SHA-512; wrong passwords refused';
}

async function tls() {
  const ca = fs.readFileSync(env('KC_CA_PEM'));
  const kafka = client('tls', { brokers: env('KC_SSL_BOOTSTRAP'), ssl: { ca: [ca], rejectUnauthorized: true } });
  await roundTrip(kafka, 'tls');
  // the verification is real: without the run's CA the handshake fails
  const untrusted = client('tls-noca', { brokers: env('KC_SSL_BOOTSTRAP'), ssl: { rejectUnauthorized: true }, retries: 0 });
  const admin = untrusted.admin();
  let err = null;
  try {
    await admin.connect();
    await admin.listTopics();
  } catch (e) {
    err = e;
  } finally {
    await admin.disconnect().catch(() => {});
  }
  check(err, 'a client without the CA was let in: the certificate was not verified');
  return `10 records over SSL, certificate verified against the CA (without it: ${err.message})`;
}

const SCENARIOS = [
  ['produce-consume', produceConsume],
  ['gzip', () => compression('gzip', CompressionTypes.GZIP)],
  ['snappy', () => compression('snappy', CompressionTypes.Snappy)],
  ['lz4', () => compression('lz4', CompressionTypes.LZ4)],
  ['zstd', () => compression('zstd', CompressionTypes.ZSTD)],
  ['group-rebalance', groupRebalance],
  ['committed-offsets', committedOffsets],
  ['admin-topics', adminTopics],
  ['describe-configs', describeConfigs],
  ['sasl-plain', saslPlain],
  ['sasl-scram', saslScram],
  ['tls', tls],
];

async function main() {
  const only = process.argv.slice(2);
  for (const [name, fn] of SCENARIOS) {
    if (only.length && !only.includes(name)) continue;
    const t0 = Date.now();
    let status = 'PASS';
    let detail;
    let timer;
    try {
      detail = await Promise.race([
        fn(),
        new Promise((_, rej) => { timer = setTimeout(() => rej(new Fail('scenario timed out after 60s')), 60000); }),
      ]);
    } catch (e) {
      status = 'FAIL';
      detail = e instanceof Fail ? e.message : `${e.name}: ${e.message}`;
      process.stderr.write(`${name}: ${e.stack}\n`);
    } finally {
      clearTimeout(timer);
      await closeAll();
    }
    process.stderr.write(`${name}: ${status} in ${((Date.now() - t0) / 1000).toFixed(1)}s\n`);
    process.stdout.write(`RESULT ${name} ${status} ${String(detail).replace(/\s+/g, ' ')}\n`);
  }
}

main().then(() => process.exit(0), (e) => {
  process.stderr.write(`${e.stack}\n`);
  process.exit(1);
});
