/*
 * Conformance adapter for Apache Curator (framework + recipes) against the
 * kavka metastore: the ZooKeeper scenarios of docs/conformance.md, each
 * checked through Curator's own API, in one JVM. See
 * tests/conformance/runner.py for the contract (KC_* environment, one
 * "RESULT <scenario> PASS|FAIL|N/A [detail]" line per scenario).
 *
 * Every scenario works under /<KC_PREFIX>/<scenario> and uses its own
 * CuratorFramework instances (sessions), closed at its end.
 */

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import java.util.regex.Pattern;

import org.apache.curator.framework.AuthInfo;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.framework.api.ACLProvider;
import org.apache.curator.framework.api.CuratorEventType;
import org.apache.curator.framework.api.transaction.CuratorOp;
import org.apache.curator.framework.api.transaction.CuratorTransactionResult;
import org.apache.curator.framework.api.transaction.OperationType;
import org.apache.curator.framework.recipes.atomic.AtomicValue;
import org.apache.curator.framework.recipes.atomic.DistributedAtomicLong;
import org.apache.curator.framework.recipes.barriers.DistributedBarrier;
import org.apache.curator.framework.recipes.cache.ChildData;
import org.apache.curator.framework.recipes.cache.CuratorCache;
import org.apache.curator.framework.recipes.cache.CuratorCacheListener;
import org.apache.curator.framework.recipes.leader.LeaderLatch;
import org.apache.curator.framework.recipes.locks.InterProcessMutex;
import org.apache.curator.framework.recipes.queue.DistributedQueue;
import org.apache.curator.framework.recipes.queue.QueueBuilder;
import org.apache.curator.framework.recipes.queue.QueueConsumer;
import org.apache.curator.framework.recipes.queue.QueueSerializer;
import org.apache.curator.framework.recipes.shared.SharedCount;
import org.apache.curator.framework.recipes.shared.VersionedValue;
import org.apache.curator.framework.state.ConnectionState;
import org.apache.curator.retry.RetryNTimes;
import org.apache.zookeeper.AddWatchMode;
import org.apache.zookeeper.CreateMode;
import org.apache.zookeeper.KeeperException;
import org.apache.zookeeper.OpResult;
import org.apache.zookeeper.WatchedEvent;
import org.apache.zookeeper.Watcher;
import org.apache.zookeeper.Watcher.Event.EventType;
import org.apache.zookeeper.Watcher.Event.KeeperState;
import org.apache.zookeeper.ZooDefs;
import org.apache.zookeeper.ZooKeeper;
import org.apache.zookeeper.client.ZKClientConfig;
import org.apache.zookeeper.data.ACL;
import org.apache.zookeeper.data.ClientInfo;
import org.apache.zookeeper.data.Id;
import org.apache.zookeeper.data.Stat;
import org.apache.zookeeper.server.auth.DigestAuthenticationProvider;

public class Conformance {
    static final String ZK = env("KC_ZK");
    static final String PREFIX = env("KC_PREFIX");
    static final String BASE = "/" + PREFIX;
    static final int SCENARIO_TIMEOUT_S = 45;

    static String env(String k) {
        String v = System.getenv(k);
        if (v == null || v.isEmpty())
            throw new IllegalStateException("environment variable " + k + " is not set");
        return v;
    }

    /** A failed check: its message is the scenario's detail. */
    static class Fail extends RuntimeException {
        Fail(String m) { super(m); }
    }

    static void check(boolean ok, String what) {
        if (!ok)
            throw new Fail(what);
    }

    static void eq(Object want, Object got, String what) {
        if (!java.util.Objects.equals(want, got))
            throw new Fail(what + ": want " + want + ", got " + got);
    }

    static byte[] b(String s) { return s.getBytes(StandardCharsets.UTF_8); }
    static String s(byte[] b) { return b == null ? null : new String(b, StandardCharsets.UTF_8); }

    /** Runs op and requires that it throws a KeeperException with code want. */
    static void expectCode(KeeperException.Code want, String what, Callable<?> op) {
        Object r;
        try {
            r = op.call();
        } catch (KeeperException e) {
            if (e.code() != want)
                throw new Fail(what + ": want " + want + ", got " + e.code() + " (" + e.getMessage() + ")");
            return;
        } catch (Exception e) {
            throw new Fail(what + ": want " + want + ", got " + e);
        }
        throw new Fail(what + ": want " + want + ", but it succeeded (" + r + ")");
    }

    // ------------------------------------------------------------ clients

    /** Per-scenario sessions, closed when the scenario ends. */
    static final List<CuratorFramework> open = Collections.synchronizedList(new ArrayList<>());

    /** A started, connected client without SASL (unless extra turns it on). */
    static CuratorFramework client(Consumer<CuratorFrameworkFactory.Builder> extra) throws Exception {
        ZKClientConfig zc = new ZKClientConfig();
        zc.setProperty(ZKClientConfig.ENABLE_CLIENT_SASL_KEY, "false");
        CuratorFrameworkFactory.Builder bld = CuratorFrameworkFactory.builder()
                .connectString(ZK).sessionTimeoutMs(6000).connectionTimeoutMs(5000)
                .retryPolicy(new RetryNTimes(3, 200)).zkClientConfig(zc);
        if (extra != null)
            extra.accept(bld);
        CuratorFramework c = bld.build();
        open.add(c);
        c.start();
        if (!c.blockUntilConnected(10, TimeUnit.SECONDS))
            throw new Fail("client did not connect to " + ZK + " within 10 s");
        return c;
    }

    static CuratorFramework client() throws Exception { return client(null); }

    static void close(CuratorFramework c) {
        open.remove(c);
        c.close();
    }

    static ZooKeeper zk(CuratorFramework c) throws Exception {
        return c.getZookeeperClient().getZooKeeper();
    }

    /** Watcher that queues its events. */
    static class Events implements Watcher {
        final BlockingQueue<WatchedEvent> q = new LinkedBlockingQueue<>();
        public void process(WatchedEvent e) { q.add(e); }

        WatchedEvent next(String what) throws InterruptedException {
            WatchedEvent e = q.poll(10, TimeUnit.SECONDS);
            if (e == null)
                throw new Fail(what + ": no event within 10 s");
            return e;
        }

        void expect(EventType type, String path, String what) throws InterruptedException {
            WatchedEvent e = next(what);
            if (e.getType() != type || !path.equals(e.getPath()))
                throw new Fail(what + ": want " + type + " " + path + ", got " + e);
        }

        void none(String what) throws InterruptedException {
            WatchedEvent e = q.poll(400, TimeUnit.MILLISECONDS);
            if (e != null)
                throw new Fail(what + ": unexpected further event " + e);
        }
    }

    // ------------------------------------------------------------ scenarios

    static String crud() throws Exception {
        CuratorFramework c = client();
        String dir = BASE + "/crud";
        String p = dir + "/node";
        eq(p, c.create().creatingParentsIfNeeded().forPath(p, b("hello")), "create path");

        Stat st = new Stat();
        eq("hello", s(c.getData().storingStatIn(st).forPath(p)), "getData");
        eq(0, st.getVersion(), "stat version after create");
        eq(5, st.getDataLength(), "stat dataLength");
        eq(0, st.getNumChildren(), "stat numChildren");
        eq(0L, st.getEphemeralOwner(), "stat ephemeralOwner of a persistent node");
        check(st.getCzxid() > 0 && st.getMzxid() == st.getCzxid(), "stat czxid/mzxid: " + st);
        check(st.getCtime() > 0 && Math.abs(st.getCtime() - System.currentTimeMillis()) < 600_000,
              "stat ctime is not now: " + st.getCtime());

        // create2 (Curator uses it when a stat is wanted)
        Stat cst = new Stat();
        String p2 = dir + "/withstat";
        eq(p2, c.create().storingStatIn(cst).forPath(p2, b("x")), "create2 path");
        Stat gst = c.checkExists().forPath(p2);
        check(gst != null, "exists after create2");
        eq(gst, cst, "create2 stat vs exists stat");
        check(cst.getCzxid() > st.getCzxid(), "czxid increases: " + cst.getCzxid() + " <= " + st.getCzxid());

        expectCode(KeeperException.Code.NODEEXISTS, "create existing",
                   () -> c.create().forPath(p, b("again")));

        Stat s1 = c.setData().withVersion(0).forPath(p, b("world"));
        eq(1, s1.getVersion(), "version after setData");
        check(s1.getMzxid() > s1.getCzxid(), "mzxid after setData");
        expectCode(KeeperException.Code.BADVERSION, "setData with a stale version",
                   () -> c.setData().withVersion(0).forPath(p, b("stale")));
        Stat st2 = new Stat();
        eq("world", s(c.getData().storingStatIn(st2).forPath(p)), "data after BadVersion");
        eq(1, st2.getVersion(), "version after BadVersion");
        eq(s1, st2, "stat from setData vs getData");

        for (String k : new String[] { "c", "a", "b" })
            c.create().forPath(p + "/" + k, b(k));
        List<String> kids = new ArrayList<>(c.getChildren().forPath(p));
        Collections.sort(kids);
        eq(Arrays.asList("a", "b", "c"), kids, "getChildren");
        eq(3, c.checkExists().forPath(p).getNumChildren(), "numChildren");

        String missing = dir + "/missing";
        check(c.checkExists().forPath(missing) == null, "checkExists of a missing node is not null");
        expectCode(KeeperException.Code.NONODE, "getData of a missing node", () -> c.getData().forPath(missing));
        expectCode(KeeperException.Code.NONODE, "setData of a missing node",
                   () -> c.setData().forPath(missing, b("x")));
        expectCode(KeeperException.Code.NONODE, "delete of a missing node", () -> {
            c.delete().forPath(missing);
            return null;
        });
        expectCode(KeeperException.Code.NONODE, "create under a missing parent",
                   () -> c.create().forPath(missing + "/child"));
        expectCode(KeeperException.Code.NOTEMPTY, "delete of a node with children", () -> {
            c.delete().forPath(p);
            return null;
        });
        expectCode(KeeperException.Code.BADVERSION, "delete with a wrong version", () -> {
            c.delete().withVersion(7).forPath(p + "/a");
            return null;
        });
        c.delete().withVersion(0).forPath(p + "/a");
        check(c.checkExists().forPath(p + "/a") == null, "deleted node still exists");
        c.delete().deletingChildrenIfNeeded().forPath(p);
        check(c.checkExists().forPath(p) == null, "deletingChildrenIfNeeded left the node");
        eq(Arrays.asList("withstat"), c.getChildren().forPath(dir), "children after deletes");

        // container nodes (createContainer, opcode 19): Curator's
        // createContainers and creatingParentContainersIfNeeded; ZooKeeper
        // marks them with ephemeralOwner 0x8000000000000000
        c.createContainers(dir + "/box");
        Stat box = c.checkExists().forPath(dir + "/box");
        check(box != null, "createContainers did not create the node");
        eq(Long.MIN_VALUE, box.getEphemeralOwner(), "ephemeralOwner of a container");
        c.createContainers(dir + "/box");  // idempotent
        c.create().creatingParentContainersIfNeeded().forPath(dir + "/box2/kid", b("k"));
        eq(Long.MIN_VALUE, c.checkExists().forPath(dir + "/box2").getEphemeralOwner(),
           "ephemeralOwner of a parent made by creatingParentContainersIfNeeded");
        eq(0L, c.checkExists().forPath(dir + "/box2/kid").getEphemeralOwner(), "ephemeralOwner of its child");
        close(c);
        return "create/create2/get/set/BadVersion/ls/delete, NoNode/NodeExists/NotEmpty, containers";
    }

    static String ephemeral() throws Exception {
        String dir = BASE + "/ephemeral";
        CuratorFramework a = client(), other = client();
        other.create().creatingParentsIfNeeded().forPath(dir);
        String p = dir + "/e";
        a.create().withMode(CreateMode.EPHEMERAL).forPath(p, b("alive"));
        long sid = zk(a).getSessionId();
        Stat st = other.checkExists().forPath(p);
        check(st != null, "the other session does not see the ephemeral node");
        eq(sid, st.getEphemeralOwner(), "ephemeralOwner");
        eq("alive", s(other.getData().forPath(p)), "data of the ephemeral node");
        eq(Arrays.asList(p), zk(a).getEphemerals(dir), "getEphemerals of the owner");
        eq(Collections.emptyList(), zk(other).getEphemerals(dir), "getEphemerals of another session");
        expectCode(KeeperException.Code.NOCHILDRENFOREPHEMERALS, "child of an ephemeral",
                   () -> a.create().forPath(p + "/kid"));

        Events w = new Events();
        check(other.checkExists().usingWatcher(w).forPath(p) != null, "exists with watch");
        long t0 = System.nanoTime();
        close(a);
        w.expect(EventType.NodeDeleted, p, "watch on the ephemeral node after its session closed");
        long ms = (System.nanoTime() - t0) / 1_000_000;
        check(other.checkExists().forPath(p) == null, "ephemeral node still there after its session closed");
        eq(Collections.emptyList(), other.getChildren().forPath(dir), "children after close");
        close(other);
        return "owner session 0x" + Long.toHexString(sid) + ", gone " + ms + " ms after close";
    }

    static final Pattern SEQ = Pattern.compile(".*-(\\d{10})$");

    static long seqOf(String path) {
        java.util.regex.Matcher m = SEQ.matcher(path);
        if (!m.matches())
            throw new Fail("no 10-digit sequence suffix: " + path);
        return Long.parseLong(m.group(1));
    }

    static String sequential() throws Exception {
        String dir = BASE + "/sequential";
        CuratorFramework c = client(), e = client();
        c.create().creatingParentsIfNeeded().forPath(dir);
        List<String> made = new ArrayList<>();
        for (int i = 0; i < 3; i++)
            made.add(c.create().withMode(CreateMode.PERSISTENT_SEQUENTIAL).forPath(dir + "/p-", b("p" + i)));
        for (int i = 0; i < 2; i++)
            made.add(e.create().withMode(CreateMode.EPHEMERAL_SEQUENTIAL).forPath(dir + "/e-", b("e" + i)));
        // Curator's protected ephemeral-sequential (a _c_<uuid>- name prefix)
        String prot = e.create().withProtection().withMode(CreateMode.EPHEMERAL_SEQUENTIAL)
                .forPath(dir + "/pe-", b("prot"));
        made.add(prot);
        check(prot.substring(dir.length() + 1).startsWith("_c_"), "protected name: " + prot);
        long prev = -1;
        for (String m : made) {
            long n = seqOf(m);
            check(n > prev, "sequence numbers do not increase: " + made);
            prev = n;
        }
        eq(0L, seqOf(made.get(0)), "first sequence number in a new parent");
        eq(5L, prev, "sequence numbers are not consecutive: " + made);
        eq("p1", s(c.getData().forPath(made.get(1))), "data of a sequential node");
        Stat es = c.checkExists().forPath(made.get(3));
        check(es != null && es.getEphemeralOwner() == zk(e).getSessionId(), "ephemeral-sequential owner");
        List<String> kids = c.getChildren().forPath(dir);
        eq(6, kids.size(), "children " + kids);
        close(e);
        List<String> left = new ArrayList<>(c.getChildren().forPath(dir));
        Collections.sort(left);
        List<String> want = new ArrayList<>();
        for (int i = 0; i < 3; i++)
            want.add(made.get(i).substring(dir.length() + 1));
        eq(want, left, "after the ephemeral session closed");
        // a sequential create after deletes keeps counting (parent cversion)
        String next = c.create().withMode(CreateMode.PERSISTENT_SEQUENTIAL).forPath(dir + "/p-");
        check(seqOf(next) > prev, "sequence number after the ephemerals vanished: " + next);
        close(c);
        return made.get(0).substring(dir.length() + 1) + ".." + prot.substring(dir.length() + 1) + ", " +
            next.substring(dir.length() + 1);
    }

    static String watch() throws Exception {
        String dir = BASE + "/watch";
        CuratorFramework c = client(), w = client();
        c.create().creatingParentsIfNeeded().forPath(dir + "/d", b("0"));

        Events data = new Events();
        eq("0", s(w.getData().usingWatcher(data).forPath(dir + "/d")), "getData with watch");
        c.setData().forPath(dir + "/d", b("1"));
        data.expect(EventType.NodeDataChanged, dir + "/d", "data watch");
        c.setData().forPath(dir + "/d", b("2"));
        data.none("data watch after a second set");

        Events kids = new Events();
        eq(Arrays.asList("d"), w.getChildren().usingWatcher(kids).forPath(dir), "getChildren with watch");
        c.create().forPath(dir + "/k1");
        kids.expect(EventType.NodeChildrenChanged, dir, "child watch");
        c.create().forPath(dir + "/k2");
        kids.none("child watch after a second create");

        Events ex = new Events();
        check(w.checkExists().usingWatcher(ex).forPath(dir + "/new") == null, "exists of a missing node");
        c.create().forPath(dir + "/new", b("n"));
        ex.expect(EventType.NodeCreated, dir + "/new", "exists watch");
        c.setData().forPath(dir + "/new", b("m"));
        ex.none("exists watch after a set");

        // Curator 5: persistent recursive watch (addWatch), and its removal
        Events rec = new Events();
        w.watchers().add().withMode(AddWatchMode.PERSISTENT_RECURSIVE).usingWatcher(rec).forPath(dir);
        c.create().forPath(dir + "/k1/deep", b("x"));
        rec.expect(EventType.NodeCreated, dir + "/k1/deep", "persistent recursive watch, create");
        c.setData().forPath(dir + "/k1/deep", b("y"));
        rec.expect(EventType.NodeDataChanged, dir + "/k1/deep", "persistent recursive watch, set");
        c.setData().forPath(dir + "/d", b("3"));
        rec.expect(EventType.NodeDataChanged, dir + "/d", "persistent recursive watch, second set");
        c.delete().forPath(dir + "/k1/deep");
        rec.expect(EventType.NodeDeleted, dir + "/k1/deep", "persistent recursive watch, delete");
        rec.none("persistent recursive watch");
        w.watchers().remove(rec).forPath(dir);
        WatchedEvent removed = rec.next("removeWatches");
        eq(EventType.PersistentWatchRemoved, removed.getType(), "event on removeWatches");
        c.setData().forPath(dir + "/d", b("4"));
        rec.none("persistent watch after removeWatches");
        close(c);
        close(w);
        return "NodeDataChanged, NodeChildrenChanged, NodeCreated once each; persistent recursive watch + remove";
    }

    static String multi() throws Exception {
        String dir = BASE + "/multi";
        CuratorFramework c = client();
        c.create().creatingParentsIfNeeded().forPath(dir + "/x", b("x0"));

        List<CuratorOp> ok = Arrays.asList(
            c.transactionOp().create().forPath(dir + "/a", b("a0")),
            c.transactionOp().setData().forPath(dir + "/x", b("x1")),
            c.transactionOp().check().withVersion(1).forPath(dir + "/x"));
        List<CuratorTransactionResult> res = c.transaction().forOperations(ok);
        eq(3, res.size(), "number of results");
        eq(OperationType.CREATE + " " + dir + "/a", res.get(0).getType() + " " + res.get(0).getResultPath(),
           "result 0");
        eq(OperationType.SET_DATA, res.get(1).getType(), "result 1");
        eq(1, res.get(1).getResultStat().getVersion(), "setData result stat version");
        eq(OperationType.CHECK, res.get(2).getType(), "result 2");
        eq("a0", s(c.getData().forPath(dir + "/a")), "created by the multi");
        Stat xs = new Stat();
        eq("x1", s(c.getData().storingStatIn(xs).forPath(dir + "/x")), "set by the multi");
        Stat as = c.checkExists().forPath(dir + "/a");
        eq(xs.getMzxid(), as.getCzxid(), "one zxid for the whole multi");

        List<CuratorOp> bad = Arrays.asList(
            c.transactionOp().create().forPath(dir + "/b", b("b0")),
            c.transactionOp().check().withVersion(99).forPath(dir + "/x"),
            c.transactionOp().setData().forPath(dir + "/x", b("x2")));
        try {
            c.transaction().forOperations(bad);
            throw new Fail("a multi with a failing check succeeded");
        } catch (KeeperException e) {
            eq(KeeperException.Code.BADVERSION, e.code(), "error of the failing multi");
            List<OpResult> r = e.getResults();
            check(r != null && r.size() == 3, "per-op results of the failed multi: " + r);
            List<Integer> codes = new ArrayList<>();
            for (OpResult o : r) {
                check(o instanceof OpResult.ErrorResult, "result of a failed multi is not an ErrorResult: " + o);
                codes.add(((OpResult.ErrorResult) o).getErr());
            }
            eq(Arrays.asList(0, KeeperException.Code.BADVERSION.intValue(),
                             KeeperException.Code.RUNTIMEINCONSISTENCY.intValue()), codes, "per-op error codes");
        }
        check(c.checkExists().forPath(dir + "/b") == null, "the failed multi created /b");
        Stat xs2 = new Stat();
        eq("x1", s(c.getData().storingStatIn(xs2).forPath(dir + "/x")), "data after the failed multi");
        eq(xs, xs2, "stat after the failed multi");

        // a failing create (NodeExists) in the middle: nothing applied either
        try {
            c.transaction().forOperations(Arrays.asList(
                c.transactionOp().delete().forPath(dir + "/a"),
                c.transactionOp().create().forPath(dir + "/x")));
            throw new Fail("a multi creating an existing node succeeded");
        } catch (KeeperException e) {
            eq(KeeperException.Code.NODEEXISTS, e.code(), "error of the second failing multi");
        }
        check(c.checkExists().forPath(dir + "/a") != null, "the failed multi deleted /a");
        close(c);
        return "create+setData+check committed at one zxid; BadVersion/NodeExists multis applied nothing";
    }

    static List<ACL> digestAcl(String user, String pw, int perms) throws Exception {
        String id = DigestAuthenticationProvider.generateDigest(user + ":" + pw);
        return new ArrayList<>(Arrays.asList(new ACL(perms, new Id("digest", id))));
    }

    static String acl() throws Exception {
        String dir = BASE + "/acl";
        String secret = dir + "/secret";
        final List<ACL> owner = digestAcl("curator", "pass-1", ZooDefs.Perms.ALL);
        ACLProvider provider = new ACLProvider() {
            public List<ACL> getDefaultAcl() { return ZooDefs.Ids.OPEN_ACL_UNSAFE; }
            public List<ACL> getAclForPath(String path) {
                return path.startsWith(secret) ? owner : ZooDefs.Ids.OPEN_ACL_UNSAFE;
            }
        };
        CuratorFramework a = client(bl -> bl.authorization("digest", b("curator:pass-1")).aclProvider(provider));
        CuratorFramework anon = client();
        CuratorFramework wrong = client(bl -> bl.authorization("digest", b("curator:pass-2")));

        a.create().creatingParentsIfNeeded().forPath(secret, b("s3cret"));
        eq(ZooDefs.Ids.OPEN_ACL_UNSAFE, anon.getACL().forPath(dir), "ACL of the parent (OPEN from the provider)");
        eq(owner, a.getACL().forPath(secret), "getACL by the owner");
        // getACL needs READ or ADMIN (ZooKeeper's FinalRequestProcessor)
        expectCode(KeeperException.Code.NOAUTH, "getACL without credentials", () -> anon.getACL().forPath(secret));
        eq("s3cret", s(a.getData().forPath(secret)), "read with the credentials");

        expectCode(KeeperException.Code.NOAUTH, "read without credentials", () -> anon.getData().forPath(secret));
        expectCode(KeeperException.Code.NOAUTH, "write without credentials",
                   () -> anon.setData().forPath(secret, b("x")));
        expectCode(KeeperException.Code.NOAUTH, "create child without credentials",
                   () -> anon.create().forPath(secret + "/kid"));
        expectCode(KeeperException.Code.NOAUTH, "read with a wrong password", () -> wrong.getData().forPath(secret));

        // a second session with the credentials (authorization = addauth digest at connect)
        CuratorFramework a2 = client(bl -> bl.authorization(Arrays.asList(new AuthInfo("digest", b("curator:pass-1")))));
        a2.setData().forPath(secret, b("changed"));
        eq("changed", s(a.getData().forPath(secret)), "written by the second authorized session");

        // explicit withACL: world READ plus the owner; anonymous can read, not write
        List<ACL> mixed = new ArrayList<>(owner);
        mixed.add(new ACL(ZooDefs.Perms.READ, ZooDefs.Ids.ANYONE_ID_UNSAFE));
        String pub = dir + "/public";
        a.create().withACL(mixed).forPath(pub, b("read-only"));
        eq(mixed, a.getACL().forPath(pub), "getACL of the world-readable node by the owner");
        // without ADMIN, ZooKeeper shows digest ids as user:x
        List<ACL> masked = Arrays.asList(new ACL(ZooDefs.Perms.ALL, new Id("digest", "curator:x")),
                                         new ACL(ZooDefs.Perms.READ, ZooDefs.Ids.ANYONE_ID_UNSAFE));
        eq(masked, anon.getACL().forPath(pub), "getACL of the world-readable node without ADMIN");
        eq("read-only", s(anon.getData().forPath(pub)), "anonymous read of a world-readable node");
        expectCode(KeeperException.Code.NOAUTH, "anonymous write of a world-readable node",
                   () -> anon.setData().forPath(pub, b("x")));
        expectCode(KeeperException.Code.NOAUTH, "setACL without ADMIN",
                   () -> anon.setACL().withACL(ZooDefs.Ids.OPEN_ACL_UNSAFE).forPath(pub));
        // setACL by the owner opens it; aversion counts
        Stat sa = a.setACL().withVersion(0).withACL(ZooDefs.Ids.OPEN_ACL_UNSAFE).forPath(pub);
        eq(1, sa.getAversion(), "aversion after setACL");
        expectCode(KeeperException.Code.BADVERSION, "setACL with a stale aversion",
                   () -> a.setACL().withVersion(0).withACL(owner).forPath(pub));
        anon.setData().forPath(pub, b("opened"));
        eq("opened", s(a.getData().forPath(pub)), "write after setACL");
        close(a);
        close(a2);
        close(anon);
        close(wrong);
        return "digest ACL via ACLProvider: NoAuth without/with wrong credentials, allowed with authorization(); getACL, setACL";
    }

    static String sasl() throws Exception {
        String user = env("KC_ZK_USER"), pw = env("KC_ZK_PASSWORD");
        String jaasFile = env("KC_ZK_JAAS");
        // The runner's JAAS file (Client section) as given, plus a section
        // with a wrong password for the refusal check; the JAAS configuration
        // is read once per JVM, so both are in one file.
        String jaas = new String(Files.readAllBytes(Paths.get(jaasFile)), StandardCharsets.UTF_8)
            + "\nBadClient {\n  org.apache.zookeeper.server.auth.DigestLoginModule required\n"
            + "  username=\"" + user + "\" password=\"not-" + pw + "\";\n};\n";
        Path f = Paths.get(env("KC_WORK"), "curator_jaas.conf");
        Files.write(f, jaas.getBytes(StandardCharsets.UTF_8));
        System.setProperty("java.security.auth.login.config", f.toString());

        String dir = BASE + "/sasl";
        String p = dir + "/mine";
        CountDownLatch authed = new CountDownLatch(1);
        CuratorFramework c = saslClient("Client", authed, null);
        check(authed.await(10, TimeUnit.SECONDS), "no SaslAuthenticated event within 10 s");
        List<String> who = new ArrayList<>();
        for (ClientInfo ci : zk(c).whoAmI())
            who.add(ci.getAuthScheme() + ":" + ci.getUser());
        boolean found = who.contains("sasl:" + user);
        check(found, "whoAmI does not show sasl:" + user + ": " + who);

        List<ACL> acl = Arrays.asList(new ACL(ZooDefs.Perms.ALL, new Id("sasl", user)));
        c.create().creatingParentsIfNeeded().withACL(acl).forPath(p, b("sasl-data"));
        eq(acl, c.getACL().forPath(p), "getACL of the sasl node");
        eq("sasl-data", s(c.getData().forPath(p)), "read by the SASL user");
        c.setData().forPath(p, b("sasl-data-2"));

        CuratorFramework anon = client();
        expectCode(KeeperException.Code.NOAUTH, "anonymous read of the sasl node", () -> anon.getData().forPath(p));

        // wrong password: the server refuses the login (AuthFailed), and the
        // session gets nothing out of the node
        CountDownLatch failed = new CountDownLatch(1);
        CountDownLatch badAuthed = new CountDownLatch(1);
        CuratorFramework bad = saslClient("BadClient", badAuthed, failed);
        check(failed.await(10, TimeUnit.SECONDS), "no AuthFailed event for a wrong password within 10 s");
        check(badAuthed.getCount() == 1, "SaslAuthenticated with a wrong password");
        String got, how = "";
        try {
            ExecutorService ex = Executors.newSingleThreadExecutor();
            Future<byte[]> fut = ex.submit(() -> bad.getData().forPath(p));
            ex.shutdown();
            got = "read " + s(fut.get(8, TimeUnit.SECONDS));
        } catch (java.util.concurrent.ExecutionException e) {
            got = null;
            String m = String.valueOf(e.getCause());
            how = " (read: " + m.replaceFirst("^org.apache.zookeeper.KeeperException\\$", "") + ")";
            if (!(e.getCause() instanceof KeeperException))
                throw new Fail("read after a refused login failed oddly: " + m);
        } catch (TimeoutException e) {
            got = "hung";
        }
        check(got == null, "read after a refused SASL login: " + got);
        close(bad);
        close(anon);
        close(c);
        return "DIGEST-MD5 as " + user + " (whoAmI " + who + "), sasl ACL, wrong password AuthFailed" + how;
    }

    static CuratorFramework saslClient(String section, CountDownLatch authed, CountDownLatch failed)
            throws Exception {
        ZKClientConfig zc = new ZKClientConfig();
        zc.setProperty(ZKClientConfig.ENABLE_CLIENT_SASL_KEY, "true");
        zc.setProperty(ZKClientConfig.LOGIN_CONTEXT_NAME_KEY, section);
        // ZooKeeper 3.9 clients default to FIPS mode, which disables
        // DIGEST-MD5; DIGEST-MD5 users turn it off (X509Util.FIPS_MODE_PROPERTY).
        zc.setProperty("zookeeper.fips-mode", "false");
        CuratorFramework c = CuratorFrameworkFactory.builder().connectString(ZK).sessionTimeoutMs(6000)
                .connectionTimeoutMs(5000).retryPolicy(new RetryNTimes(0, 100)).zkClientConfig(zc).build();
        c.getCuratorListenable().addListener((cl, ev) -> {
            if (ev.getType() != CuratorEventType.WATCHED || ev.getWatchedEvent() == null)
                return;
            KeeperState st = ev.getWatchedEvent().getState();
            if (st == KeeperState.SaslAuthenticated)
                authed.countDown();
            if (st == KeeperState.AuthFailed && failed != null)
                failed.countDown();
        });
        open.add(c);
        c.start();
        if (failed == null && !c.blockUntilConnected(10, TimeUnit.SECONDS))
            throw new Fail("SASL client did not connect within 10 s");
        return c;
    }

    // ------------------------------------------------------------ recipes

    static String recipes() throws Exception {
        String dir = BASE + "/recipes";
        List<String> done = new ArrayList<>();
        CuratorFramework c1 = client(), c2 = client();
        c1.create().creatingParentsIfNeeded().forPath(dir);

        // InterProcessMutex: two sessions contend; one holder at a time
        InterProcessMutex m1 = new InterProcessMutex(c1, dir + "/lock");
        InterProcessMutex m2 = new InterProcessMutex(c2, dir + "/lock");
        check(m1.acquire(5, TimeUnit.SECONDS), "mutex: first acquire");
        check(m1.acquire(1, TimeUnit.SECONDS), "mutex: re-entrant acquire");
        check(!m2.acquire(300, TimeUnit.MILLISECONDS), "mutex: second session got a held lock");
        eq(1, m1.getParticipantNodes().size(), "mutex: participant nodes while held");
        AtomicBoolean got2 = new AtomicBoolean();
        CountDownLatch gotIt = new CountDownLatch(1), letGo = new CountDownLatch(1);
        AtomicReference<String> holder = new AtomicReference<>();
        Thread t = new Thread(() -> {
            try {
                if (m2.acquire(10, TimeUnit.SECONDS)) {
                    got2.set(true);
                    holder.set(m2.isAcquiredInThisProcess() + "/" + m1.isAcquiredInThisProcess());
                    gotIt.countDown();
                    letGo.await(10, TimeUnit.SECONDS);
                    m2.release();
                }
            } catch (Exception e) {
                e.printStackTrace();
            }
        });
        t.start();
        Thread.sleep(400);
        check(!got2.get(), "mutex: waiter got the lock while it was held");
        eq(2, m1.getParticipantNodes().size(), "mutex: participant nodes with a waiter");
        m1.release();
        Thread.sleep(200);
        check(!got2.get(), "mutex: waiter got the lock after one of two re-entrant releases");
        m1.release();
        check(gotIt.await(10, TimeUnit.SECONDS), "mutex: waiter did not get the lock after release");
        eq("true/false", holder.get(), "mutex: held by the waiter/by the first after hand-over");
        check(!m1.acquire(200, TimeUnit.MILLISECONDS), "mutex: first session got the lock the waiter holds");
        letGo.countDown();
        t.join(10_000);
        // contention: both sessions loop; the critical section never overlaps
        AtomicInteger inside = new AtomicInteger(), rounds = new AtomicInteger();
        AtomicReference<String> lockErr = new AtomicReference<>();
        List<Thread> ts = new ArrayList<>();
        for (CuratorFramework c : Arrays.asList(c1, c2)) {
            InterProcessMutex m = new InterProcessMutex(c, dir + "/lock");
            ts.add(new Thread(() -> {
                try {
                    for (int i = 0; i < 5; i++) {
                        if (!m.acquire(10, TimeUnit.SECONDS)) {
                            lockErr.set("acquire timed out");
                            return;
                        }
                        if (inside.incrementAndGet() != 1)
                            lockErr.set("two holders at once");
                        Thread.sleep(10);
                        rounds.incrementAndGet();
                        inside.decrementAndGet();
                        m.release();
                    }
                } catch (Exception e) {
                    lockErr.set(e.toString());
                }
            }));
        }
        for (Thread x : ts)
            x.start();
        for (Thread x : ts)
            x.join(30_000);
        check(lockErr.get() == null, "mutex contention: " + lockErr.get());
        eq(10, rounds.get(), "mutex contention rounds");
        eq(Collections.emptyList(), c1.getChildren().forPath(dir + "/lock"), "lock nodes left after release");
        done.add("InterProcessMutex");

        // LeaderLatch: two participants, failover when the leader's session closes
        CuratorFramework l1 = client(), l2 = client();
        LeaderLatch la = new LeaderLatch(l1, dir + "/leader", "p1");
        LeaderLatch lb = new LeaderLatch(l2, dir + "/leader", "p2");
        la.start();
        lb.start();
        long deadline = System.currentTimeMillis() + 10_000;
        while (!(la.hasLeadership() || lb.hasLeadership()) && System.currentTimeMillis() < deadline)
            Thread.sleep(20);
        Thread.sleep(200);
        check(la.hasLeadership() ^ lb.hasLeadership(),
              "leader latch: want exactly one leader, got " + la.hasLeadership() + "/" + lb.hasLeadership());
        LeaderLatch leader = la.hasLeadership() ? la : lb, follower = leader == la ? lb : la;
        CuratorFramework leaderClient = leader == la ? l1 : l2;
        deadline = System.currentTimeMillis() + 5_000;
        while (follower.getParticipants().size() < 2 && System.currentTimeMillis() < deadline)
            Thread.sleep(20);
        eq(2, follower.getParticipants().size(), "leader latch participants");
        eq(leader.getId(), follower.getLeader().getId(), "leader as seen by the follower");
        close(leaderClient);  // session closes: its latch node vanishes
        check(follower.await(10, TimeUnit.SECONDS), "leader latch: no failover within 10 s of the leader closing");
        eq(follower.getId(), follower.getLeader().getId(), "leader after failover");
        eq(1, follower.getParticipants().size(), "participants after failover");
        follower.close();
        close(follower == la ? l1 : l2);
        done.add("LeaderLatch failover " + leader.getId() + "->" + follower.getId());

        // DistributedAtomicLong: concurrent increments from two sessions
        AtomicReference<String> cntErr = new AtomicReference<>();
        ts.clear();
        for (CuratorFramework c : Arrays.asList(c1, c2)) {
            DistributedAtomicLong n = new DistributedAtomicLong(c, dir + "/counter", new RetryNTimes(50, 5));
            ts.add(new Thread(() -> {
                try {
                    for (int i = 0; i < 10; i++) {
                        AtomicValue<Long> v = n.increment();
                        if (!v.succeeded())
                            cntErr.set("increment did not succeed");
                        else if (v.postValue() != v.preValue() + 1)
                            cntErr.set("increment " + v.preValue() + " -> " + v.postValue());
                    }
                } catch (Exception e) {
                    cntErr.set(e.toString());
                }
            }));
        }
        for (Thread x : ts)
            x.start();
        for (Thread x : ts)
            x.join(30_000);
        check(cntErr.get() == null, "DistributedAtomicLong: " + cntErr.get());
        AtomicValue<Long> fin = new DistributedAtomicLong(c1, dir + "/counter", new RetryNTimes(3, 10)).get();
        check(fin.succeeded(), "DistributedAtomicLong get");
        eq(20L, fin.postValue(), "DistributedAtomicLong after 2x10 increments");
        done.add("DistributedAtomicLong=20");

        // SharedCount: versioned set; a stale version is refused; listener on the other session
        SharedCount sc1 = new SharedCount(c1, dir + "/shared", 0), sc2 = new SharedCount(c2, dir + "/shared", 0);
        BlockingQueue<Integer> seen = new LinkedBlockingQueue<>();
        sc2.addListener(new org.apache.curator.framework.recipes.shared.SharedCountListener() {
            public void countHasChanged(org.apache.curator.framework.recipes.shared.SharedCountReader r, int n) {
                seen.add(n);
            }
            public void stateChanged(CuratorFramework c, ConnectionState s) {}
        });
        sc1.start();
        sc2.start();
        VersionedValue<Integer> v0 = sc1.getVersionedValue();
        check(sc1.trySetCount(v0, 7), "SharedCount trySetCount");
        check(!sc1.trySetCount(v0, 8), "SharedCount trySetCount with a stale version succeeded");
        Integer n7 = seen.poll(10, TimeUnit.SECONDS);
        eq(7, n7, "SharedCount listener on the other session");
        eq(7, sc2.getCount(), "SharedCount as seen by the other session");
        sc1.close();
        sc2.close();
        done.add("SharedCount");

        // DistributedBarrier: a waiter in the other session is released by removeBarrier
        DistributedBarrier b1 = new DistributedBarrier(c1, dir + "/barrier");
        DistributedBarrier b2 = new DistributedBarrier(c2, dir + "/barrier");
        b1.setBarrier();
        AtomicReference<Boolean> passed = new AtomicReference<>();
        Thread bw = new Thread(() -> {
            try {
                passed.set(b2.waitOnBarrier(10, TimeUnit.SECONDS));
            } catch (Exception e) {
                e.printStackTrace();
                passed.set(false);
            }
        });
        bw.start();
        Thread.sleep(400);
        check(passed.get() == null, "barrier: waiter passed a set barrier");
        b1.removeBarrier();
        bw.join(10_000);
        eq(Boolean.TRUE, passed.get(), "barrier: waiter released after removeBarrier");
        done.add("DistributedBarrier");

        // DistributedQueue: producer in one session, consumer in the other, FIFO
        BlockingQueue<String> consumed = new LinkedBlockingQueue<>();
        QueueSerializer<String> ser = new QueueSerializer<String>() {
            public byte[] serialize(String item) { return b(item); }
            public String deserialize(byte[] bytes) { return s(bytes); }
        };
        QueueConsumer<String> cons = new QueueConsumer<String>() {
            public void consumeMessage(String m) { consumed.add(m); }
            public void stateChanged(CuratorFramework c, ConnectionState s) {}
        };
        QueueConsumer<String> none = new QueueConsumer<String>() {
            public void consumeMessage(String m) { throw new IllegalStateException("producer consumed " + m); }
            public void stateChanged(CuratorFramework c, ConnectionState s) {}
        };
        DistributedQueue<String> qc = QueueBuilder.builder(c2, cons, ser, dir + "/queue").buildQueue();
        DistributedQueue<String> qp = QueueBuilder.builder(c1, null, ser, dir + "/queue").buildQueue();
        qc.start();
        qp.start();
        List<String> sent = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            sent.add("item-" + i);
            qp.put("item-" + i);
        }
        List<String> got = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            String m = consumed.poll(10, TimeUnit.SECONDS);
            check(m != null, "queue: only " + got + " consumed within 10 s");
            got.add(m);
        }
        eq(sent, got, "queue items in order");
        // the consumer removes what it consumed
        deadline = System.currentTimeMillis() + 5_000;
        while (!c1.getChildren().forPath(dir + "/queue").isEmpty() && System.currentTimeMillis() < deadline)
            Thread.sleep(20);
        eq(Collections.emptyList(), c1.getChildren().forPath(dir + "/queue"), "queue nodes left after consuming");
        qp.close();
        qc.close();
        done.add("DistributedQueue");

        // CuratorCache: events for another session's create/set/delete below it
        String cp = dir + "/cache";
        c1.create().forPath(cp, b("root"));
        c1.create().forPath(cp + "/pre", b("pre"));
        BlockingQueue<String> evs = new LinkedBlockingQueue<>();
        CountDownLatch init = new CountDownLatch(1);
        CuratorCache cache = CuratorCache.build(c1, cp);
        cache.listenable().addListener(CuratorCacheListener.builder()
            .forCreates(d -> evs.add("create " + d.getPath() + " " + s(d.getData())))
            .forChanges((o, n) -> evs.add("change " + n.getPath() + " " + s(o.getData()) + "->" + s(n.getData())))
            .forDeletes(d -> evs.add("delete " + d.getPath() + " " + s(d.getData())))
            .forInitialized(init::countDown)
            .build());
        cache.start();
        check(init.await(10, TimeUnit.SECONDS), "CuratorCache did not initialize");
        List<String> initial = new ArrayList<>();
        evs.drainTo(initial);
        Collections.sort(initial);
        eq(Arrays.asList("create " + cp + " root", "create " + cp + "/pre pre"), initial, "CuratorCache initial events");
        c2.create().forPath(cp + "/k", b("v1"));
        eq("create " + cp + "/k v1", evs.poll(10, TimeUnit.SECONDS), "CuratorCache create event");
        c2.setData().forPath(cp + "/k", b("v2"));
        eq("change " + cp + "/k v1->v2", evs.poll(10, TimeUnit.SECONDS), "CuratorCache change event");
        c2.create().forPath(cp + "/k/deep", b("d"));
        eq("create " + cp + "/k/deep d", evs.poll(10, TimeUnit.SECONDS), "CuratorCache deep create event");
        c2.delete().deletingChildrenIfNeeded().forPath(cp + "/k");
        List<String> dels = new ArrayList<>();
        for (int i = 0; i < 2; i++)
            dels.add(evs.poll(10, TimeUnit.SECONDS));
        Collections.sort(dels, java.util.Comparator.nullsLast(java.util.Comparator.naturalOrder()));
        eq(Arrays.asList("delete " + cp + "/k v2", "delete " + cp + "/k/deep d"), dels, "CuratorCache delete events");
        eq("pre", s(cache.get(cp + "/pre").map(ChildData::getData).orElse(null)), "CuratorCache get");
        eq(2, cache.size(), "CuratorCache size");
        String extra = evs.poll(300, TimeUnit.MILLISECONDS);
        check(extra == null, "CuratorCache: unexpected event " + extra);
        cache.close();
        done.add("CuratorCache");

        close(c1);
        close(c2);
        return String.join(", ", done);
    }

    // ------------------------------------------------------------ main

    interface Scenario {
        String run() throws Exception;
    }

    public static void main(String[] args) throws Exception {
        String[] names = { "crud", "ephemeral", "sequential", "watch", "multi", "acl", "recipes", "sasl" };
        Scenario[] fns = { Conformance::crud, Conformance::ephemeral, Conformance::sequential, Conformance::watch,
                           Conformance::multi, Conformance::acl, Conformance::recipes, Conformance::sasl };
        List<String> only = args.length > 0 ? Arrays.asList(args) : Arrays.asList(names);
        for (int i = 0; i < names.length; i++) {
            if (!only.contains(names[i]))
                continue;
            long t0 = System.nanoTime();
            ExecutorService ex = Executors.newSingleThreadExecutor(r -> {
                Thread t = new Thread(r, "scenario");
                t.setDaemon(true);
                return t;
            });
            Future<String> f = ex.submit(fns[i]::run);
            ex.shutdown();
            String status, detail;
            try {
                detail = f.get(SCENARIO_TIMEOUT_S, TimeUnit.SECONDS);
                status = "PASS";
            } catch (TimeoutException e) {
                f.cancel(true);
                status = "FAIL";
                detail = "timed out after " + SCENARIO_TIMEOUT_S + " s";
            } catch (java.util.concurrent.ExecutionException e) {
                Throwable c = e.getCause();
                status = "FAIL";
                detail = c instanceof Fail ? c.getMessage() : c.toString();
                if (!(c instanceof Fail))
                    c.printStackTrace();
            }
            synchronized (open) {
                for (CuratorFramework c : new ArrayList<>(open)) {
                    try {
                        c.close();
                    } catch (Exception e) {
                        // closing after a failure; nothing to report
                    }
                }
                open.clear();
            }
            System.err.printf("scenario %s: %s in %.1f s%n", names[i], status, (System.nanoTime() - t0) / 1e9);
            System.out.println("RESULT " + names[i] + " " + status + " " + detail.replace('\n', ' '));
            System.out.flush();
        }
        System.exit(0);
    }
}
