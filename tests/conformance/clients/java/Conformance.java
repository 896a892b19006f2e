// Conformance adapter for the Apache Kafka Java client (kafka-clients 3.9 and
// 4.1): the twelve Kafka scenarios of docs/conformance.md with the Producer,
// Consumer and Admin APIs, in one JVM.  Prints "RESULT <scenario> PASS|FAIL
// [detail]" lines (contract: tests/conformance/runner.py).  The source must
// compile against both client versions, so it uses only APIs both have.

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.*;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import org.apache.kafka.clients.admin.*;
import org.apache.kafka.clients.consumer.*;
import org.apache.kafka.clients.producer.*;
import org.apache.kafka.common.Metric;
import org.apache.kafka.common.MetricName;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.errors.SaslAuthenticationException;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

public class Conformance {
    static final String BOOT = env("KC_BOOTSTRAP"), SASL_BOOT = env("KC_SASL_BOOTSTRAP"),
            SSL_BOOT = env("KC_SSL_BOOTSTRAP"), CA = env("KC_CA_PEM"), PREFIX = env("KC_PREFIX");

    static String env(String k) {
        String v = System.getenv(k);
        if (v == null) throw new IllegalStateException("missing environment variable " + k);
        return v;
    }

    /** A check that did not hold: the scenario fails with this message. */
    static class Fail extends Exception {
        Fail(String m) { super(m); }
    }

    static void check(boolean ok, String what) throws Fail {
        if (!ok) throw new Fail(what);
    }

    static byte[] b(String s) { return s.getBytes(StandardCharsets.UTF_8); }

    static String s(byte[] v) { return v == null ? null : new String(v, StandardCharsets.UTF_8); }

    // ------------------------------------------------------------ clients

    static final java.util.concurrent.atomic.AtomicInteger CLIENT_IDS = new java.util.concurrent.atomic.AtomicInteger();

    static Properties common(Map<String, String> sec) {
        Properties p = new Properties();
        p.put("bootstrap.servers", BOOT);
        p.put("client.id", PREFIX + "-java-" + CLIENT_IDS.incrementAndGet());
        p.put("request.timeout.ms", "10000");
        p.put("default.api.timeout.ms", "20000");
        p.put("reconnect.backoff.max.ms", "1000");
        p.putAll(sec);
        return p;
    }

    static Admin admin(Map<String, String> sec) {
        return Admin.create(common(sec));
    }

    static KafkaProducer<byte[], byte[]> producer(Map<String, String> sec, String... kv) {
        Properties p = common(sec);
        p.put("acks", "all");
        p.put("max.block.ms", "20000");
        p.put("delivery.timeout.ms", "30000");
        p.put("linger.ms", "5");
        for (int i = 0; i < kv.length; i += 2) p.put(kv[i], kv[i + 1]);
        return new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer());
    }

    static KafkaConsumer<byte[], byte[]> consumer(Map<String, String> sec, String group, String... kv) {
        Properties p = common(sec);
        if (group != null) p.put("group.id", group);
        p.put("enable.auto.commit", "false");
        p.put("auto.offset.reset", "earliest");
        p.put("session.timeout.ms", "6000");
        p.put("heartbeat.interval.ms", "500");
        p.put("max.poll.interval.ms", "30000");
        for (int i = 0; i < kv.length; i += 2) p.put(kv[i], kv[i + 1]);
        return new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer());
    }

    static final Map<String, String> NONE = Collections.emptyMap();

    static Map<String, String> sasl(String mech, String module, String user, String pw) {
        Map<String, String> m = new HashMap<>();
        m.put("bootstrap.servers", SASL_BOOT);
        m.put("security.protocol", "SASL_PLAINTEXT");
        m.put("sasl.mechanism", mech);
        m.put("sasl.jaas.config", module + " required username=\"" + user + "\" password=\"" + pw + "\";");
        return m;
    }

    static Map<String, String> plain(String pw) {
        return sasl("PLAIN", "org.apache.kafka.common.security.plain.PlainLoginModule",
                env("KC_PLAIN_USER"), pw);
    }

    static Map<String, String> scram(String mech, String pw) {
        return sasl(mech, "org.apache.kafka.common.security.scram.ScramLoginModule",
                env("KC_SCRAM_USER"), pw);
    }

    static Map<String, String> ssl() {
        Map<String, String> m = new HashMap<>();
        m.put("bootstrap.servers", SSL_BOOT);
        m.put("security.protocol", "SSL");
        m.put("ssl.truststore.type", "PEM");
        m.put("ssl.truststore.location", CA);
        return m;
    }

    static Throwable cause(Throwable t) {
        return t instanceof ExecutionException && t.getCause() != null ? t.getCause() : t;
    }

    static void createTopic(Admin a, String topic, int partitions, Map<String, String> configs) throws Exception {
        NewTopic nt = new NewTopic(topic, partitions, (short) 1);
        if (configs != null) nt.configs(configs);
        a.createTopics(Collections.singletonList(nt)).all().get(30, TimeUnit.SECONDS);
    }

    static List<TopicPartition> partitions(String topic, int n) {
        List<TopicPartition> l = new ArrayList<>();
        for (int i = 0; i < n; i++) l.add(new TopicPartition(topic, i));
        return l;
    }

    /** Reads every partition of a topic from the beginning (no group) until
     *  want records came, or a few seconds more to catch extra ones. */
    static List<ConsumerRecord<byte[], byte[]>> readAll(Map<String, String> sec, String topic, int nparts, int want)
            throws Exception {
        return readAll(sec, topic, nparts, want, null);
    }

    /** The same; fetched[0] gets the bytes the consumer received (its
     *  incoming-byte-total metric: network bytes, all connections). */
    static List<ConsumerRecord<byte[], byte[]>> readAll(Map<String, String> sec, String topic, int nparts, int want,
            double[] fetched) throws Exception {
        List<ConsumerRecord<byte[], byte[]>> out = new ArrayList<>();
        try (KafkaConsumer<byte[], byte[]> c = consumer(sec, null)) {
            List<TopicPartition> tps = partitions(topic, nparts);
            c.assign(tps);
            c.seekToBeginning(tps);
            long deadline = System.currentTimeMillis() + 30000;
            while (out.size() < want && System.currentTimeMillis() < deadline)
                for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(200))) out.add(r);
            // anything beyond what was sent (duplicates) would show up now
            long extra = System.currentTimeMillis() + 300;
            while (System.currentTimeMillis() < extra)
                for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(100))) out.add(r);
            if (fetched != null)
                fetched[0] = metric(c.metrics(), "consumer-metrics", "incoming-byte-total");
        }
        return out;
    }

    // ---------------------------------------------------------- scenarios

    static byte[] h2(int i) {
        return new byte[] {0, (byte) 0xff, (byte) i, (byte) 0x80, 10, 13};
    }

    static String produceConsume() throws Exception {
        String topic = PREFIX + "-pc";
        try (Admin a = admin(NONE)) {
            createTopic(a, topic, 3, null);
        }
        try (KafkaProducer<byte[], byte[]> p = producer(NONE)) {
            List<java.util.concurrent.Future<RecordMetadata>> fs = new ArrayList<>();
            for (int i = 0; i < 100; i++) {
                ProducerRecord<byte[], byte[]> r = new ProducerRecord<>(topic, b("k" + (i % 10)), b("v" + i));
                r.headers().add("h1", b(Integer.toString(i)));
                r.headers().add("h2", h2(i));
                fs.add(p.send(r));
            }
            for (java.util.concurrent.Future<RecordMetadata> f : fs) f.get(30, TimeUnit.SECONDS);
        }
        List<ConsumerRecord<byte[], byte[]>> got = readAll(NONE, topic, 3, 100);
        check(got.size() == 100, "read " + got.size() + " records, sent 100");
        Set<Integer> seen = new HashSet<>();
        Map<String, Integer> lastOfKey = new HashMap<>();
        Map<String, Integer> partOfKey = new HashMap<>();
        for (ConsumerRecord<byte[], byte[]> r : got) {
            String v = s(r.value());
            check(v != null && v.matches("v\\d+"), "bad value " + v);
            int i = Integer.parseInt(v.substring(1));
            check(i < 100 && seen.add(i), "record " + v + " read twice or unknown");
            String k = s(r.key());
            check(("k" + (i % 10)).equals(k), "record " + v + " has key " + k);
            List<Header> hs = new ArrayList<>();
            for (Header h : r.headers()) hs.add(h);
            check(hs.size() == 2 && hs.get(0).key().equals("h1") && hs.get(1).key().equals("h2"),
                    "record " + v + " headers " + hs);
            check(Integer.toString(i).equals(s(hs.get(0).value())), "record " + v + " h1=" + s(hs.get(0).value()));
            check(Arrays.equals(h2(i), hs.get(1).value()), "record " + v + " h2=" + Arrays.toString(hs.get(1).value()));
            Integer last = lastOfKey.put(k, i);
            check(last == null || last < i, "key " + k + ": " + v + " read after v" + last);
            Integer part = partOfKey.put(k, r.partition());
            check(part == null || part == r.partition(), "key " + k + " in partitions " + part + " and " + r.partition());
        }
        return "100 records, keys/values/headers intact, per-key order kept";
    }

    static String codec(String codec) throws Exception {
        String topic = PREFIX + "-" + codec;
        try (Admin a = admin(NONE)) {
            createTopic(a, topic, 3, null);
        }
        double perRequest;
        try (KafkaProducer<byte[], byte[]> p = producer(NONE, "compression.type", codec, "linger.ms", "50",
                "batch.size", "65536")) {
            List<java.util.concurrent.Future<RecordMetadata>> fs = new ArrayList<>();
            for (int i = 0; i < 200; i++)
                fs.add(p.send(new ProducerRecord<>(topic, i % 3, null, b(value(codec, i)))));
            p.flush();
            for (java.util.concurrent.Future<RecordMetadata> f : fs) f.get(30, TimeUnit.SECONDS);
            perRequest = metric(p.metrics(), "producer-metrics", "records-per-request-avg");
        }
        check(perRequest > 1.0, "producer sent " + perRequest + " records per request (not batched)");
        double[] fetched = {Double.NaN};
        List<ConsumerRecord<byte[], byte[]>> got = readAll(NONE, topic, 3, 200, fetched);
        check(got.size() == 200, "read " + got.size() + " records, sent 200");
        long raw = 0;
        int[] last = {-1, -1, -1};
        Set<Integer> seen = new HashSet<>();
        for (ConsumerRecord<byte[], byte[]> r : got) {
            String v = s(r.value());
            int i = Integer.parseInt(v.substring(0, v.indexOf(':')));
            check(seen.add(i), "record " + i + " read twice");
            check(value(codec, i).equals(v), "record " + i + " value corrupted: " + v);
            check(r.partition() == i % 3, "record " + i + " in partition " + r.partition());
            check(i > last[r.partition()], "partition " + r.partition() + ": record " + i + " after " + last[r.partition()]);
            last[r.partition()] = i;
            raw += r.value().length;
        }
        // the values compress ~3-10x; with the broker's default
        // compression.type=producer the batches come back as the producer
        // compressed them, so far fewer bytes than the values arrive
        check(fetched[0] < raw, String.format("consumer received %.0f bytes for %d bytes of values: "
                + "the batches did not come back compressed", fetched[0], raw));
        return String.format("200 records intact and in order, %.1f records per produce request; "
                + "consumer received %.0f bytes from the network for %d bytes of values", perRequest, fetched[0], raw);
    }

    static String value(String codec, int i) {
        StringBuilder sb = new StringBuilder(i + ":" + codec + ":");
        for (int j = 0; j < 20; j++) sb.append("payload-").append(i).append('-').append(j).append(' ');
        return sb.toString();
    }

    static double metric(Map<MetricName, ? extends Metric> ms, String group, String name) {
        for (Map.Entry<MetricName, ? extends Metric> e : ms.entrySet())
            if (e.getKey().group().equals(group) && e.getKey().name().equals(name))
                return ((Number) e.getValue().metricValue()).doubleValue();
        return Double.NaN;
    }

    static String groupRebalance() throws Exception {
        String topic = PREFIX + "-rebal", group = PREFIX + "-g-rebal";
        try (Admin a = admin(NONE)) {
            createTopic(a, topic, 4, null);
        }
        final List<String> events = Collections.synchronizedList(new ArrayList<>());
        KafkaConsumer<byte[], byte[]> ca = consumer(NONE, group, "client.id", PREFIX + "-A");
        KafkaConsumer<byte[], byte[]> cb = consumer(NONE, group, "client.id", PREFIX + "-B");
        try {
            ca.subscribe(Collections.singletonList(topic), listener("A", events));
            Set<TopicPartition> all = new HashSet<>(partitions(topic, 4));
            long deadline = System.currentTimeMillis() + 30000;
            while (!ca.assignment().equals(all) && System.currentTimeMillis() < deadline)
                ca.poll(Duration.ofMillis(100));
            check(ca.assignment().equals(all), "A alone owns " + ca.assignment());

            cb.subscribe(Collections.singletonList(topic), listener("B", events));
            deadline = System.currentTimeMillis() + 30000;
            while (System.currentTimeMillis() < deadline) {
                ca.poll(Duration.ofMillis(50));
                cb.poll(Duration.ofMillis(50));
                if (split(ca.assignment(), cb.assignment(), all)) break;
            }
            Set<TopicPartition> sa = new HashSet<>(ca.assignment()), sb = new HashSet<>(cb.assignment());
            check(split(sa, sb, all), "with B joined: A owns " + sa + ", B owns " + sb);

            cb.close(Duration.ofSeconds(10));
            cb = null;
            deadline = System.currentTimeMillis() + 30000;
            while (!ca.assignment().equals(all) && System.currentTimeMillis() < deadline)
                ca.poll(Duration.ofMillis(100));
            check(ca.assignment().equals(all), "after B left A owns " + ca.assignment());
            return "A:4; A:" + sa.size() + " B:" + sb.size() + "; A:4 (" + String.join(" ", events) + ")";
        } finally {
            ca.close(Duration.ofSeconds(10));
            if (cb != null) cb.close(Duration.ofSeconds(10));
        }
    }

    static boolean split(Set<TopicPartition> a, Set<TopicPartition> b, Set<TopicPartition> all) {
        if (a.isEmpty() || b.isEmpty()) return false;
        Set<TopicPartition> u = new HashSet<>(a);
        u.addAll(b);
        return u.equals(all) && a.size() + b.size() == all.size();
    }

    static ConsumerRebalanceListener listener(final String who, final List<String> events) {
        return new ConsumerRebalanceListener() {
            public void onPartitionsRevoked(Collection<TopicPartition> ps) {
                if (!ps.isEmpty()) events.add(who + "-" + ps.size());
            }

            public void onPartitionsAssigned(Collection<TopicPartition> ps) {
                events.add(who + "+" + ps.size());
            }
        };
    }

    static String committedOffsets() throws Exception {
        String topic = PREFIX + "-commit", group = PREFIX + "-g-commit";
        try (Admin a = admin(NONE)) {
            createTopic(a, topic, 1, null);
        }
        try (KafkaProducer<byte[], byte[]> p = producer(NONE)) {
            for (int i = 0; i < 10; i++) p.send(new ProducerRecord<>(topic, 0, null, b("v" + i)));
            p.flush();
        }
        TopicPartition tp = new TopicPartition(topic, 0);
        List<String> first = new ArrayList<>();
        try (KafkaConsumer<byte[], byte[]> c = consumer(NONE, group, "max.poll.records", "5")) {
            c.subscribe(Collections.singletonList(topic));
            long deadline = System.currentTimeMillis() + 30000;
            while (first.size() < 5 && System.currentTimeMillis() < deadline)
                for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(100)))
                    if (first.size() < 5) {
                        check(r.offset() == first.size(), "first member got offset " + r.offset());
                        first.add(s(r.value()));
                    }
            check(first.equals(Arrays.asList("v0", "v1", "v2", "v3", "v4")), "first member read " + first);
            c.commitSync(Collections.singletonMap(tp, new OffsetAndMetadata(5)));
        }
        try (KafkaConsumer<byte[], byte[]> c = consumer(NONE, group)) {
            c.subscribe(Collections.singletonList(topic));
            ConsumerRecord<byte[], byte[]> firstRec = null;
            long deadline = System.currentTimeMillis() + 30000;
            while (firstRec == null && System.currentTimeMillis() < deadline)
                for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(100))) {
                    firstRec = r;
                    break;
                }
            check(firstRec != null, "second member read nothing");
            check(firstRec.offset() == 5 && "v5".equals(s(firstRec.value())),
                    "second member started at offset " + firstRec.offset() + " (" + s(firstRec.value()) + ")");
            OffsetAndMetadata om = c.committed(Collections.singleton(tp)).get(tp);
            check(om != null && om.offset() == 5, "committed() answered " + om);
        }
        try (Admin a = admin(NONE)) {
            OffsetAndMetadata om = a.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata()
                    .get(30, TimeUnit.SECONDS).get(tp);
            check(om != null && om.offset() == 5, "Admin listConsumerGroupOffsets answered " + om);
        }
        return "second member started at offset 5, committed()=5, listConsumerGroupOffsets=5";
    }

    static int describePartitions(Admin a, String topic) throws Exception {
        TopicDescription d = a.describeTopics(Collections.singletonList(topic)).allTopicNames()
                .get(30, TimeUnit.SECONDS).get(topic);
        return d.partitions().size();
    }

    static String adminTopics() throws Exception {
        String topic = PREFIX + "-admin";
        try (Admin a = admin(NONE)) {
            createTopic(a, topic, 2, Collections.singletonMap("retention.ms", "3600000"));
            Set<String> names = a.listTopics().names().get(30, TimeUnit.SECONDS);
            check(names.contains(topic), "listTopics lacks the new topic");
            int n = describePartitions(a, topic);
            check(n == 2, "described with " + n + " partitions, created with 2");
            a.createPartitions(Collections.singletonMap(topic, NewPartitions.increaseTo(4))).all()
                    .get(30, TimeUnit.SECONDS);
            long deadline = System.currentTimeMillis() + 10000;
            while ((n = describePartitions(a, topic)) != 4 && System.currentTimeMillis() < deadline)
                Thread.sleep(200);
            check(n == 4, "after createPartitions(4) described with " + n + " partitions");
            a.deleteTopics(Collections.singletonList(topic)).all().get(30, TimeUnit.SECONDS);
            deadline = System.currentTimeMillis() + 15000;
            while ((names = a.listTopics().names().get(30, TimeUnit.SECONDS)).contains(topic)
                    && System.currentTimeMillis() < deadline)
                Thread.sleep(200);
            check(!names.contains(topic), "deleted topic still listed");
        }
        return "create(2)/list/describe 2/createPartitions 4/describe 4/delete/gone";
    }

    static ConfigEntry topicConfig(Admin a, ConfigResource res, String name) throws Exception {
        Config c = a.describeConfigs(Collections.singletonList(res)).all().get(30, TimeUnit.SECONDS).get(res);
        return c.get(name);
    }

    static String describeConfigs() throws Exception {
        String topic = PREFIX + "-configs";
        try (Admin a = admin(NONE)) {
            createTopic(a, topic, 1, Collections.singletonMap("retention.ms", "3600000"));
            ConfigResource res = new ConfigResource(ConfigResource.Type.TOPIC, topic);
            ConfigEntry e = topicConfig(a, res, "retention.ms");
            check(e != null && "3600000".equals(e.value()), "retention.ms described as " + e);
            check(!e.isDefault() && e.source() == ConfigEntry.ConfigSource.DYNAMIC_TOPIC_CONFIG,
                    "retention.ms not marked as set on the topic: " + e);
            ConfigEntry other = topicConfig(a, res, "cleanup.policy");
            check(other != null && other.source() != ConfigEntry.ConfigSource.DYNAMIC_TOPIC_CONFIG,
                    "cleanup.policy (never set) described as " + other);
            AlterConfigOp op = new AlterConfigOp(new ConfigEntry("retention.ms", "7200000"), AlterConfigOp.OpType.SET);
            a.incrementalAlterConfigs(Collections.singletonMap(res, Collections.singletonList(op))).all()
                    .get(30, TimeUnit.SECONDS);
            e = topicConfig(a, res, "retention.ms");
            check(e != null && "7200000".equals(e.value()), "after incrementalAlterConfigs retention.ms is " + e);
            Collection<org.apache.kafka.common.Node> nodes = a.describeCluster().nodes().get(30, TimeUnit.SECONDS);
            check(!nodes.isEmpty(), "describeCluster returned no brokers");
            String id = nodes.iterator().next().idString();
            ConfigResource br = new ConfigResource(ConfigResource.Type.BROKER, id);
            Config bc = a.describeConfigs(Collections.singletonList(br)).all().get(30, TimeUnit.SECONDS).get(br);
            check(bc != null && !bc.entries().isEmpty(), "broker " + id + " configs: none");
            return "retention.ms=3600000 (" + e.source() + ") -> 7200000; broker " + id + ": "
                    + bc.entries().size() + " entries";
        }
    }

    /** Produce and consume 10 records with the given security settings. */
    static void roundTrip(Map<String, String> sec, String topic) throws Exception {
        long t0 = System.currentTimeMillis();
        try (Admin a = admin(sec)) {
            createTopic(a, topic, 1, null);
        }
        note(topic + ": topic created after " + (System.currentTimeMillis() - t0) + " ms");
        try (KafkaProducer<byte[], byte[]> p = producer(sec)) {
            List<java.util.concurrent.Future<RecordMetadata>> fs = new ArrayList<>();
            for (int i = 0; i < 10; i++) fs.add(p.send(new ProducerRecord<>(topic, b("k" + i), b("v" + i))));
            for (java.util.concurrent.Future<RecordMetadata> f : fs) f.get(30, TimeUnit.SECONDS);
        }
        note(topic + ": produced after " + (System.currentTimeMillis() - t0) + " ms");
        List<ConsumerRecord<byte[], byte[]>> got = readAll(sec, topic, 1, 10);
        note(topic + ": consumed after " + (System.currentTimeMillis() - t0) + " ms");
        List<String> vals = new ArrayList<>();
        for (ConsumerRecord<byte[], byte[]> r : got) vals.add(s(r.key()) + "=" + s(r.value()));
        List<String> want = new ArrayList<>();
        for (int i = 0; i < 10; i++) want.add("k" + i + "=v" + i);
        check(vals.equals(want), topic + ": read back " + vals);
    }

    /** A wrong password must be refused with SaslAuthenticationException. */
    static void refused(Map<String, String> sec, String what) throws Exception {
        note(what + ": trying a wrong password");
        try (Admin a = admin(sec)) {
            Set<String> names = a.listTopics().names().get(30, TimeUnit.SECONDS);
            throw new Fail(what + " with a wrong password was accepted (listed " + names.size() + " topics)");
        } catch (ExecutionException ex) {
            Throwable c = cause(ex);
            check(c instanceof SaslAuthenticationException,
                    what + " with a wrong password failed with " + c + " instead of SaslAuthenticationException");
        }
    }

    static String saslPlain() throws Exception {
        roundTrip(plain(env("KC_PLAIN_PASSWORD")), PREFIX + "-plain");
        refused(plain("wrong-" + env("KC_PLAIN_PASSWORD")), "PLAIN");
        try (KafkaConsumer<byte[], byte[]> c = consumer(plain("nope"), null)) {
            try {
                c.listTopics(Duration.ofSeconds(20));
                throw new Fail("consumer with a wrong PLAIN password listed topics");
            } catch (SaslAuthenticationException expected) {
                // what the Java client raises on a refused SASL handshake
            }
        }
        return "10 records over SASL_PLAINTEXT/PLAIN; wrong password: SaslAuthenticationException";
    }

    static String saslScram() throws Exception {
        for (String mech : new String[] {"SCRAM-SHA-256", "SCRAM-SHA-512"}) {
            roundTrip(scram(mech, env("KC_SCRAM_PASSWORD")), PREFIX + "-" + mech.toLowerCase());
            refused(scram(mech, "wrong-" + env("KC_SCRAM_PASSWORD")), mech);
        }
        return "10 records each over SCRAM-SHA-256 and SCRAM-SHA-512; wrong passwords: SaslAuthenticationException";
    }

    static String tls() throws Exception {
        roundTrip(ssl(), PREFIX + "-tls");
        // the certificate really is checked: the JDK's default trust store
        // does not know the run's CA, so the handshake must fail
        Map<String, String> untrusted = ssl();
        untrusted.remove("ssl.truststore.type");
        untrusted.remove("ssl.truststore.location");
        try (Admin a = admin(untrusted)) {
            a.listTopics().names().get(30, TimeUnit.SECONDS);
            throw new Fail("SSL without the run's CA in the trust store was accepted");
        } catch (ExecutionException ex) {
            Throwable c = cause(ex);
            check(c instanceof org.apache.kafka.common.errors.SslAuthenticationException,
                    "SSL without the run's CA failed with " + c + " instead of SslAuthenticationException");
        }
        return "10 records over SSL, broker certificate verified against KC_CA_PEM (PEM truststore); "
                + "with the JDK's default trust store: SslAuthenticationException";
    }

    // --------------------------------------------------------------- main

    interface Scenario {
        String run() throws Exception;
    }

    static synchronized void note(String what) {
        System.err.println(new java.sql.Timestamp(System.currentTimeMillis()) + " " + what);
    }

    static synchronized void result(String name, String status, String detail) {
        System.out.println("RESULT " + name + " " + status + " " + detail.replace('\n', ' '));
        System.out.flush();
    }

    static void run(String name, Scenario sc) {
        long t0 = System.currentTimeMillis();
        try {
            String d = sc.run();
            result(name, "PASS", d + " (" + (System.currentTimeMillis() - t0) + " ms)");
        } catch (Fail f) {
            result(name, "FAIL", f.getMessage());
        } catch (Throwable t) {
            Throwable c = cause(t);
            System.err.println("scenario " + name + ":");
            c.printStackTrace();
            result(name, "FAIL", c.toString());
        }
    }

    public static void main(String[] args) throws Exception {
        System.err.println("kafka-clients " + org.apache.kafka.common.utils.AppInfoParser.getVersion());
        // Scenarios are independent (own topics and groups): run them in a few
        // threads so that one JVM covers all twelve quickly.
        LinkedHashMap<String, Scenario> all = new LinkedHashMap<>();
        all.put("group-rebalance", Conformance::groupRebalance);
        all.put("committed-offsets", Conformance::committedOffsets);
        all.put("produce-consume", Conformance::produceConsume);
        for (String c : new String[] {"gzip", "snappy", "lz4", "zstd"}) all.put(c, () -> codec(c));
        all.put("admin-topics", Conformance::adminTopics);
        all.put("describe-configs", Conformance::describeConfigs);
        all.put("sasl-plain", Conformance::saslPlain);
        all.put("sasl-scram", Conformance::saslScram);
        all.put("tls", Conformance::tls);
        Set<String> only = new HashSet<>(Arrays.asList(args));
        java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(4);
        for (Map.Entry<String, Scenario> e : all.entrySet())
            if (only.isEmpty() || only.contains(e.getKey()))
                pool.submit(() -> run(e.getKey(), e.getValue()));
        pool.shutdown();
        if (!pool.awaitTermination(300, TimeUnit.SECONDS)) System.err.println("scenarios still running after 300 s");
        System.exit(0);
    }
}
