#!/usr/bin/env node
// kafkajs 2.2.4 driver for kavka's integration tests.  Records travel as JSON
// lines with base64 bytes so binary keys, values and headers survive intact.
//
//   node kafkajs-client.js BOOTSTRAP create TOPIC PARTITIONS
//   node kafkajs-client.js BOOTSTRAP produce TOPIC   < records.jsonl
//       line: {"k": b64|null, "v": b64|null, "h": [[name, b64], ...], "ts": ms|null}
//   node kafkajs-client.js BOOTSTRAP consume TOPIC COUNT [TIMEOUT_MS]
//       prints one line per record: {"p", "o", "k", "v", "h", "ts"}
//   node kafkajs-client.js BOOTSTRAP group TOPIC GROUP
//       a group member until killed: prints {"assigned": [partitions]} after each
//       join and {"p", "o", "v" (text)} per record; offsets auto-committed every 100 ms
//   KAVKA_KAFKAJS_SASL (JSON of kafkajs' `sasl` option) in the environment turns SASL on.
//
// kafkajs has no assign(): consuming always joins a consumer group.
'use strict';

const fs = require('fs');
const { Kafka, logLevel } = require('kafkajs');

const [bootstrap, cmd, topic, arg, timeoutArg] = process.argv.slice(2);
// KAVKA_KAFKAJS_SASL='{"mechanism":"plain","username":...,"password":...}' turns SASL on.
const sasl = process.env.KAVKA_KAFKAJS_SASL ? JSON.parse(process.env.KAVKA_KAFKAJS_SASL) : undefined;
const kafka = new Kafka({
  clientId: 'kavka-test-kafkajs',
  brokers: [bootstrap],
  sasl,
  logLevel: logLevel.WARN,
  retry: { retries: 8, initialRetryTime: 100 },
});

const b64 = (b) => (b === null || b === undefined ? null : Buffer.from(b).toString('base64'));
const unb64 = (s) => (s === null ? null : Buffer.from(s, 'base64'));

// kafkajs represents headers as an object; repeated names become arrays.
function headersToObject(list) {
  const out = {};
  for (const [name, value] of list) {
    const buf = unb64(value);
    if (!(name in out)) out[name] = buf;
    else if (Array.isArray(out[name])) out[name].push(buf);
    else out[name] = [out[name], buf];
  }
  return out;
}

function headersToList(obj) {
  const out = [];
  for (const [name, value] of Object.entries(obj || {})) {
    for (const v of Array.isArray(value) ? value : [value]) out.push([name, b64(v)]);
  }
  return out;
}

async function create() {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const created = await admin.createTopics({
      topics: [{ topic, numPartitions: Number(arg), replicationFactor: 1 }],
      waitForLeaders: true,
    });
    if (!created) throw new Error(`topic ${topic} already existed`);
  } finally {
    await admin.disconnect();
  }
}

async function produce() {
  const lines = fs.readFileSync(0, 'utf8').split('\n').filter((l) => l.length);
  const messages = lines.map((l) => {
    const r = JSON.parse(l);
    const m = { key: unb64(r.k), value: unb64(r.v), headers: headersToObject(r.h) };
    if (r.ts !== null) m.timestamp = String(r.ts);
    return m;
  });
  const producer = kafka.producer({ allowAutoTopicCreation: true });
  await producer.connect();
  try {
    // Chunked sends keep request sizes ordinary; acks=-1 is acks=all.
    for (let i = 0; i < messages.length; i += 500) {
      await producer.send({ topic, acks: -1, messages: messages.slice(i, i + 500) });
    }
  } finally {
    await producer.disconnect();
  }
}

async function consume() {
  const want = Number(arg);
  const timeoutMs = Number(timeoutArg || 60000);
  const consumer = kafka.consumer({ groupId: `kavka-test-${topic}-${process.pid}`, maxWaitTimeInMs: 200 });
  await consumer.connect();
  let got = 0;
  const out = [];
  let finish;
  const done = new Promise((resolve) => { finish = resolve; });
  const timer = setTimeout(() => finish(new Error(`timed out with ${got}/${want} records`)), timeoutMs);
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ partition, message }) => {
      out.push(JSON.stringify({
        p: partition, o: Number(message.offset), k: b64(message.key), v: b64(message.value),
        h: headersToList(message.headers), ts: Number(message.timestamp),
      }));
      if (++got >= want) finish(null);
    },
  });
  const err = await done;
  clearTimeout(timer);
  await consumer.disconnect();
  // process.exit() does not wait for a piped stdout to drain.
  await new Promise((resolve) => process.stdout.write(out.join('\n') + (out.length ? '\n' : ''), resolve));
  if (err) throw err;
}

async function group() {
  const consumer = kafka.consumer({
    groupId: arg, sessionTimeout: 6000, heartbeatInterval: 1000, rebalanceTimeout: 10000,
    maxWaitTimeInMs: 200,
  });
  const say = (o) => process.stdout.write(JSON.stringify(o) + '\n');
  consumer.on(consumer.events.GROUP_JOIN, (e) => say({ assigned: e.payload.memberAssignment[topic] || [] }));
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    autoCommitInterval: 100,
    eachMessage: async ({ partition, message }) => {
      say({ p: partition, o: Number(message.offset), v: message.value.toString() });
    },
  });
  await new Promise(() => {}); // until killed
}

const commands = { create, produce, consume, group };
if (!commands[cmd]) {
  process.stderr.write('usage: kafkajs-client.js BOOTSTRAP create|produce|consume|group TOPIC ...\n');
  process.exit(2);
}
commands[cmd]().then(() => process.exit(0), (e) => {
  process.stderr.write(`kafkajs ${cmd} failed: ${e && e.stack ? e.stack : e}\n`);
  process.exit(1);
});
