// Conformance adapter for franz-go (github.com/twmb/franz-go: pkg/kgo, pkg/kadm,
// pkg/sasl/plain, pkg/sasl/scram). tests/conformance/runner.py has the adapter
// contract, docs/conformance.md the scenarios. Prints
// "RESULT <scenario> PASS|FAIL|N/A [detail]" per scenario on stdout; the
// client's log goes to stderr. Arguments, if any, pick scenarios by name.
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"
)

var prefix = mustEnv("KC_PREFIX")

func mustEnv(k string) string {
	v, ok := os.LookupEnv(k)
	if !ok {
		fmt.Fprintf(os.Stderr, "%s is not set\n", k)
		os.Exit(2)
	}
	return v
}

// fail is a check that did not hold.
type fail struct{ msg string }

func (f fail) Error() string { return f.msg }

func failf(format string, args ...any) error { return fail{fmt.Sprintf(format, args...)} }

// opts are the options every client of a scenario shares.
func base(name string, extra ...kgo.Opt) []kgo.Opt {
	return append([]kgo.Opt{
		kgo.SeedBrokers(os.Getenv("KC_BOOTSTRAP")),
		kgo.ClientID("kavka-conformance-" + name),
		kgo.WithLogger(kgo.BasicLogger(os.Stderr, kgo.LogLevelWarn, func() string { return "[franz-go " + name + "] " })),
		kgo.DialTimeout(3 * time.Second),
		kgo.RetryTimeout(15 * time.Second),
		kgo.FetchMaxWait(200 * time.Millisecond),
	}, extra...)
}

// clients made during a scenario are closed at its end.
var open []*kgo.Client

func newClient(opts ...kgo.Opt) (*kgo.Client, error) {
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, err
	}
	open = append(open, cl)
	return cl, nil
}

func closeClient(cl *kgo.Client) {
	for i, c := range open {
		if c == cl {
			open = append(open[:i], open[i+1:]...)
			break
		}
	}
	cl.Close()
}

func closeAll() {
	for i := len(open) - 1; i >= 0; i-- {
		open[i].Close()
	}
	open = nil
}

func createTopic(ctx context.Context, adm *kadm.Client, topic string, partitions int32, configs map[string]*string) error {
	r, err := adm.CreateTopic(ctx, partitions, 1, configs, topic)
	if err != nil {
		return fmt.Errorf("CreateTopic(%s): %w", topic, err)
	}
	if r.NumPartitions != 0 && r.NumPartitions != partitions {
		return failf("CreateTopic(%s) answered %d partitions, want %d", topic, r.NumPartitions, partitions)
	}
	return nil
}

// consume reads topic from the start (no group) until n records came, then
// keeps polling for settle more, so duplicates would show.
func consume(ctx context.Context, name, topic string, n int, settle time.Duration, extra ...kgo.Opt) ([]*kgo.Record, error) {
	opts := append(base(name, extra...), kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	cl, err := newClient(opts...)
	if err != nil {
		return nil, err
	}
	defer closeClient(cl)
	var got []*kgo.Record
	var until time.Time
	for {
		pctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
		fs := cl.PollFetches(pctx)
		cancel()
		for _, e := range fs.Errors() {
			if !errors.Is(e.Err, context.DeadlineExceeded) {
				return got, fmt.Errorf("fetching %s[%d]: %w", e.Topic, e.Partition, e.Err)
			}
		}
		got = append(got, fs.Records()...)
		if ctx.Err() != nil {
			return got, failf("read %d of %d records from %s before the deadline", len(got), n, topic)
		}
		if len(got) >= n && until.IsZero() {
			until = time.Now().Add(settle)
		}
		if !until.IsZero() && time.Now().After(until) {
			return got, nil
		}
	}
}

func produceSync(ctx context.Context, cl *kgo.Client, rs []*kgo.Record) error {
	for _, r := range cl.ProduceSync(ctx, rs...) {
		if r.Err != nil {
			return fmt.Errorf("produce to %s: %w", r.Record.Topic, r.Err)
		}
	}
	return nil
}

// ---- scenarios ----

func produceConsume(ctx context.Context) (string, error) {
	topic := prefix + "-pc"
	cl, err := newClient(base("pc")...)
	if err != nil {
		return "", err
	}
	if err := createTopic(ctx, kadm.NewClient(cl), topic, 3, nil); err != nil {
		return "", err
	}
	h2 := func(i int) []byte { return []byte{0x00, 0xff, byte(i), 0x80, 0x0a} }
	var rs []*kgo.Record
	for i := 0; i < 100; i++ {
		rs = append(rs, &kgo.Record{
			Topic: topic, Key: []byte(fmt.Sprintf("k%d", i%10)), Value: []byte(fmt.Sprintf("v%d", i)),
			Headers: []kgo.RecordHeader{{Key: "h1", Value: []byte(strconv.Itoa(i))}, {Key: "h2", Value: h2(i)}},
		})
	}
	if err := produceSync(ctx, cl, rs); err != nil {
		return "", err
	}
	got, err := consume(ctx, "pc-read", topic, 100, 700*time.Millisecond)
	if err != nil {
		return "", err
	}
	if len(got) != 100 {
		return "", failf("read %d records, want 100", len(got))
	}
	seen := map[int]bool{}
	lastByKey := map[string]int{}
	partOfKey := map[string]int32{}
	parts := map[int32]bool{}
	for _, r := range got {
		v := string(r.Value)
		i, err := strconv.Atoi(strings.TrimPrefix(v, "v"))
		if !strings.HasPrefix(v, "v") || err != nil || i < 0 || i >= 100 {
			return "", failf("unexpected value %q", v)
		}
		if seen[i] {
			return "", failf("record %s read twice", v)
		}
		seen[i] = true
		k := string(r.Key)
		if k != fmt.Sprintf("k%d", i%10) {
			return "", failf("record %s: key %q, want k%d", v, k, i%10)
		}
		if len(r.Headers) != 2 || r.Headers[0].Key != "h1" || r.Headers[1].Key != "h2" {
			return "", failf("record %s: headers %v, want h1, h2", v, r.Headers)
		}
		if string(r.Headers[0].Value) != strconv.Itoa(i) {
			return "", failf("record %s: h1=%q", v, r.Headers[0].Value)
		}
		if string(r.Headers[1].Value) != string(h2(i)) {
			return "", failf("record %s: h2=%x, want %x", v, r.Headers[1].Value, h2(i))
		}
		if p, ok := partOfKey[k]; ok && p != r.Partition {
			return "", failf("key %s in partitions %d and %d", k, p, r.Partition)
		}
		partOfKey[k] = r.Partition
		if last, ok := lastByKey[k]; ok && last >= i {
			return "", failf("key %s: v%d read after v%d", k, i, last)
		}
		lastByKey[k] = i
		parts[r.Partition] = true
	}
	return fmt.Sprintf("100 records, headers intact, per-key order kept, %d partitions used", len(parts)), nil
}

// batchHooks records the compression of every batch produced and fetched.
type batchHooks struct {
	mu       sync.Mutex
	produced map[uint8]int // compression type -> batches
	fetched  map[uint8]int
}

func (h *batchHooks) OnProduceBatchWritten(_ kgo.BrokerMetadata, _ string, _ int32, m kgo.ProduceBatchMetrics) {
	h.mu.Lock()
	h.produced[m.CompressionType]++
	h.mu.Unlock()
}

func (h *batchHooks) OnFetchBatchRead(_ kgo.BrokerMetadata, _ string, _ int32, m kgo.FetchBatchMetrics) {
	h.mu.Lock()
	h.fetched[m.CompressionType]++
	h.mu.Unlock()
}

func compression(name string, codec kgo.CompressionCodec, ctype uint8) func(context.Context) (string, error) {
	return func(ctx context.Context) (string, error) {
		topic := prefix + "-" + name
		hooks := &batchHooks{produced: map[uint8]int{}, fetched: map[uint8]int{}}
		cl, err := newClient(base(name, kgo.ProducerBatchCompression(codec), kgo.WithHooks(hooks),
			kgo.ProducerLinger(20*time.Millisecond))...)
		if err != nil {
			return "", err
		}
		if err := createTopic(ctx, kadm.NewClient(cl), topic, 3, nil); err != nil {
			return "", err
		}
		value := func(i int) string { return fmt.Sprintf("%s-v%d-%s", name, i, strings.Repeat("x", 100+i%17)) }
		var rs []*kgo.Record
		for i := 0; i < 200; i++ {
			rs = append(rs, &kgo.Record{Topic: topic, Key: []byte(fmt.Sprintf("k%d", i%7)), Value: []byte(value(i))})
		}
		if err := produceSync(ctx, cl, rs); err != nil {
			return "", err
		}
		got, err := consume(ctx, name+"-read", topic, 200, 700*time.Millisecond, kgo.WithHooks(hooks))
		if err != nil {
			return "", err
		}
		if len(got) != 200 {
			return "", failf("read %d records, want 200", len(got))
		}
		re := regexp.MustCompile(`^[a-z0-9]+-v(\d+)-x+$`)
		seen := map[int]bool{}
		type pos struct {
			i   int
			off int64
		}
		last := map[int32]pos{}
		for _, r := range got {
			m := re.FindStringSubmatch(string(r.Value))
			if m == nil {
				return "", failf("unexpected value %.40q", r.Value)
			}
			i, _ := strconv.Atoi(m[1])
			if string(r.Value) != value(i) {
				return "", failf("record %d: value corrupted", i)
			}
			if seen[i] {
				return "", failf("record %d read twice", i)
			}
			seen[i] = true
			if l, ok := last[r.Partition]; ok && (l.i >= i || l.off >= r.Offset) {
				return "", failf("partition %d: record %d after %d", r.Partition, i, l.i)
			}
			last[r.Partition] = pos{i, r.Offset}
		}
		hooks.mu.Lock()
		defer hooks.mu.Unlock()
		prodTotal, fetchTotal := 0, 0
		for _, n := range hooks.produced {
			prodTotal += n
		}
		for _, n := range hooks.fetched {
			fetchTotal += n
		}
		if hooks.produced[ctype] != prodTotal || prodTotal == 0 {
			return "", failf("produced batches by compression type: %v, want all %d", hooks.produced, ctype)
		}
		if prodTotal >= 200 {
			return "", failf("%d batches for 200 records: not batched", prodTotal)
		}
		if hooks.fetched[ctype] != fetchTotal || fetchTotal == 0 {
			return "", failf("fetched batches by compression type: %v, want all %d", hooks.fetched, ctype)
		}
		return fmt.Sprintf("200 records in %d %s batches, fetched back as %d %s batches, intact and in order per partition",
			prodTotal, name, fetchTotal, name), nil
	}
}

func groupRebalance(ctx context.Context) (string, error) {
	topic := prefix + "-grp"
	group := prefix + "-grp-g"
	cl, err := newClient(base("grp")...)
	if err != nil {
		return "", err
	}
	if err := createTopic(ctx, kadm.NewClient(cl), topic, 4, nil); err != nil {
		return "", err
	}
	var mu sync.Mutex
	owned := map[string]map[int32]bool{"A": {}, "B": {}}
	member := func(name string) (*kgo.Client, error) {
		change := func(add bool) func(context.Context, *kgo.Client, map[string][]int32) {
			return func(_ context.Context, _ *kgo.Client, m map[string][]int32) {
				mu.Lock()
				defer mu.Unlock()
				for _, p := range m[topic] {
					if add {
						owned[name][p] = true
					} else {
						delete(owned[name], p)
					}
				}
				fmt.Fprintf(os.Stderr, "group-rebalance: %s %s %v, owns %v\n", name,
					map[bool]string{true: "assigned", false: "revoked"}[add], m[topic], keys(owned[name]))
			}
		}
		c, err := newClient(base("grp-"+name,
			kgo.ConsumerGroup(group), kgo.ConsumeTopics(topic),
			kgo.SessionTimeout(6*time.Second), kgo.RebalanceTimeout(10*time.Second),
			kgo.HeartbeatInterval(500*time.Millisecond),
			kgo.OnPartitionsAssigned(change(true)), kgo.OnPartitionsRevoked(change(false)),
			kgo.OnPartitionsLost(change(false)))...)
		if err != nil {
			return nil, err
		}
		go func() { // a member polls, as applications do
			for !c.PollFetches(ctx).IsClientClosed() && ctx.Err() == nil {
			}
		}()
		return c, nil
	}
	snapshot := func() (a, b []int32) {
		mu.Lock()
		defer mu.Unlock()
		return keys(owned["A"]), keys(owned["B"])
	}
	all := func(ps []int32) bool { return fmt.Sprint(ps) == "[0 1 2 3]" }
	if _, err := member("A"); err != nil {
		return "", err
	}
	if err := waitFor(ctx, "A to own all 4 partitions", func() bool { a, _ := snapshot(); return all(a) }); err != nil {
		return "", err
	}
	b, err := member("B")
	if err != nil {
		return "", err
	}
	if err := waitFor(ctx, "A and B to split the 4 partitions", func() bool {
		a, b := snapshot()
		return len(a) > 0 && len(b) > 0 && all(sorted(append(append([]int32{}, a...), b...)))
	}); err != nil {
		a, b := snapshot()
		return "", failf("%v (A %v, B %v)", err, a, b)
	}
	a1, b1 := snapshot()
	closeClient(b) // leaves the group
	if err := waitFor(ctx, "A to own all 4 again after B left", func() bool { a, _ := snapshot(); return all(a) }); err != nil {
		a, _ := snapshot()
		return "", failf("%v (A %v)", err, a)
	}
	return fmt.Sprintf("A all 4; with B: A %v B %v; B left: A all 4", a1, b1), nil
}

func keys(m map[int32]bool) []int32 {
	var out []int32
	for k := range m {
		out = append(out, k)
	}
	return sorted(out)
}

func sorted(s []int32) []int32 {
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s
}

var t0 = time.Now()

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%7.3f "+format+"\n", append([]any{time.Since(t0).Seconds()}, args...)...)
}

func waitFor(ctx context.Context, what string, cond func() bool) error {
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) || ctx.Err() != nil {
			return failf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return nil
}

func committedOffsets(ctx context.Context) (string, error) {
	topic := prefix + "-off"
	group := prefix + "-off-g"
	cl, err := newClient(base("off")...)
	if err != nil {
		return "", err
	}
	adm := kadm.NewClient(cl)
	if err := createTopic(ctx, adm, topic, 1, nil); err != nil {
		return "", err
	}
	var rs []*kgo.Record
	for i := 0; i < 10; i++ {
		rs = append(rs, &kgo.Record{Topic: topic, Value: []byte(fmt.Sprintf("v%d", i))})
	}
	if err := produceSync(ctx, cl, rs); err != nil {
		return "", err
	}
	member := func(name string) (*kgo.Client, error) {
		return newClient(base("off-"+name, kgo.ConsumerGroup(group), kgo.ConsumeTopics(topic),
			kgo.DisableAutoCommit(), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
			kgo.SessionTimeout(6*time.Second), kgo.HeartbeatInterval(500*time.Millisecond))...)
	}
	poll := func(c *kgo.Client, n int) ([]*kgo.Record, error) {
		var got []*kgo.Record
		for len(got) < n {
			if ctx.Err() != nil {
				return got, failf("read %d of %d records before the deadline", len(got), n)
			}
			fs := c.PollRecords(ctx, n-len(got))
			if errs := fs.Errors(); len(errs) > 0 {
				return got, fmt.Errorf("poll: %w", errs[0].Err)
			}
			got = append(got, fs.Records()...)
		}
		return got, nil
	}
	c1, err := member("first")
	if err != nil {
		return "", err
	}
	first, err := poll(c1, 5)
	if err != nil {
		return "", err
	}
	for i, r := range first {
		if r.Offset != int64(i) || string(r.Value) != fmt.Sprintf("v%d", i) {
			return "", failf("first member's record %d: offset %d value %q", i, r.Offset, r.Value)
		}
	}
	if err := c1.CommitRecords(ctx, first[4]); err != nil {
		return "", fmt.Errorf("CommitRecords: %w", err)
	}
	closeClient(c1)

	offs, err := adm.FetchOffsets(ctx, group)
	if err != nil {
		return "", fmt.Errorf("FetchOffsets: %w", err)
	}
	o, ok := offs.Lookup(topic, 0)
	if !ok || o.Err != nil || o.At != 5 {
		return "", failf("FetchOffsets answered %+v (found %v), want offset 5", o, ok)
	}

	c2, err := member("second")
	if err != nil {
		return "", err
	}
	second, err := poll(c2, 5)
	if err != nil {
		return "", err
	}
	// nothing more may come: 5..9 is the rest of the partition
	pctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	more := c2.PollFetches(pctx).Records()
	cancel()
	second = append(second, more...)
	var have []string
	for _, r := range second {
		have = append(have, fmt.Sprintf("%d:%s", r.Offset, r.Value))
	}
	if want := "5:v5 6:v6 7:v7 8:v8 9:v9"; strings.Join(have, " ") != want {
		return "", failf("second member read %v, want %s", have, want)
	}
	return "first member read 0-4 and committed 5 (CommitRecords); kadm FetchOffsets=5; second member read 5-9", nil
}

func topicPartitions(ctx context.Context, adm *kadm.Client, topic string) (int, error) {
	td, err := adm.ListTopics(ctx, topic)
	if err != nil {
		return 0, err
	}
	t, ok := td[topic]
	if !ok || t.Err != nil {
		return 0, failf("topic %s not described (%v)", topic, t.Err)
	}
	return len(t.Partitions), nil
}

func adminTopics(ctx context.Context) (string, error) {
	topic := prefix + "-adm"
	// kadm answers ListTopics from kgo's metadata cache, refreshed at most
	// every MetadataMinAge (5s by default): lowered so the deletion shows
	// within the scenario's polling instead of after 5s.
	cl, err := newClient(base("adm", kgo.MetadataMinAge(250*time.Millisecond))...)
	if err != nil {
		return "", err
	}
	adm := kadm.NewClient(cl)
	if err := createTopic(ctx, adm, topic, 2, map[string]*string{"retention.ms": kadm.StringPtr("3600000")}); err != nil {
		return "", err
	}
	all, err := adm.ListTopics(ctx)
	if err != nil {
		return "", err
	}
	if !all.Has(topic) {
		return "", failf("ListTopics lacks the new topic")
	}
	if n, err := topicPartitions(ctx, adm, topic); err != nil || n != 2 {
		return "", failf("described %d partitions (%v), want 2", n, err)
	}
	logf("admin-topics: created, listed, described 2")
	cr, err := adm.CreatePartitions(ctx, 2, topic)
	if err != nil {
		return "", fmt.Errorf("CreatePartitions: %w", err)
	}
	if r := cr[topic]; r.Err != nil {
		return "", failf("CreatePartitions: %v %s", r.Err, r.ErrMessage)
	}
	n := 0
	if err := waitFor(ctx, "4 partitions in the metadata", func() bool {
		n, _ = topicPartitions(ctx, adm, topic)
		return n == 4
	}); err != nil {
		return "", failf("%v (last %d)", err, n)
	}
	logf("admin-topics: described 4")
	dr, err := adm.DeleteTopics(ctx, topic)
	if err != nil {
		return "", fmt.Errorf("DeleteTopics: %w", err)
	}
	if r := dr[topic]; r.Err != nil {
		return "", failf("DeleteTopics: %v %s", r.Err, r.ErrMessage)
	}
	if err := waitFor(ctx, "the topic to leave the listing", func() bool {
		all, err := adm.ListTopics(ctx)
		return err == nil && !all.Has(topic)
	}); err != nil {
		return "", err
	}
	return "created with 2 partitions (retention.ms set), listed, described 2, grew to 4, deleted, gone from the listing", nil
}

func describeConfigs(ctx context.Context) (string, error) {
	topic := prefix + "-cfg"
	cl, err := newClient(base("cfg")...)
	if err != nil {
		return "", err
	}
	adm := kadm.NewClient(cl)
	if err := createTopic(ctx, adm, topic, 1, map[string]*string{"retention.ms": kadm.StringPtr("3600000")}); err != nil {
		return "", err
	}
	describe := func() (kadm.Config, error) {
		rcs, err := adm.DescribeTopicConfigs(ctx, topic)
		if err != nil {
			return kadm.Config{}, fmt.Errorf("DescribeTopicConfigs: %w", err)
		}
		rc, err := rcs.On(topic, nil)
		if err != nil || rc.Err != nil {
			return kadm.Config{}, failf("DescribeTopicConfigs: %v %v %s", err, rc.Err, rc.ErrMessage)
		}
		for _, c := range rc.Configs {
			if c.Key == "retention.ms" {
				return c, nil
			}
		}
		return kadm.Config{}, failf("retention.ms not among the %d topic configs", len(rc.Configs))
	}
	c, err := describe()
	if err != nil {
		return "", err
	}
	if c.MaybeValue() != "3600000" || c.Source != kmsg.ConfigSourceDynamicTopicConfig {
		return "", failf("retention.ms=%q source %v, want 3600000 from DYNAMIC_TOPIC_CONFIG", c.MaybeValue(), c.Source)
	}
	ar, err := adm.AlterTopicConfigs(ctx, []kadm.AlterConfig{{Op: kadm.SetConfig, Name: "retention.ms", Value: kadm.StringPtr("7200000")}}, topic)
	if err != nil {
		return "", fmt.Errorf("AlterTopicConfigs: %w", err)
	}
	for _, r := range ar {
		if r.Err != nil {
			return "", failf("AlterTopicConfigs(%s): %v %s", r.Name, r.Err, r.ErrMessage)
		}
	}
	c, err = describe()
	if err != nil {
		return "", err
	}
	if c.MaybeValue() != "7200000" || c.Source != kmsg.ConfigSourceDynamicTopicConfig {
		return "", failf("after alter: retention.ms=%q source %v, want 7200000 from DYNAMIC_TOPIC_CONFIG", c.MaybeValue(), c.Source)
	}
	brokers, err := adm.ListBrokers(ctx)
	if err != nil || len(brokers) == 0 {
		return "", failf("ListBrokers: %v %v", brokers, err)
	}
	id := brokers[0].NodeID
	bcs, err := adm.DescribeBrokerConfigs(ctx, id)
	if err != nil {
		return "", fmt.Errorf("DescribeBrokerConfigs: %w", err)
	}
	bc, err := bcs.On(strconv.Itoa(int(id)), nil)
	if err != nil || bc.Err != nil {
		return "", failf("DescribeBrokerConfigs(%d): %v %v %s", id, err, bc.Err, bc.ErrMessage)
	}
	if len(bc.Configs) == 0 {
		return "", failf("broker %d: no config entries", id)
	}
	return fmt.Sprintf("topic retention.ms 3600000 (DYNAMIC_TOPIC_CONFIG) -> 7200000 (incremental alter); broker %d: %d entries",
		id, len(bc.Configs)), nil
}

// roundTrip produces and consumes 10 records with the given connection options.
func roundTrip(ctx context.Context, tag string, conn ...kgo.Opt) error {
	topic := prefix + "-" + tag
	cl, err := newClient(base(tag, conn...)...)
	if err != nil {
		return err
	}
	if err := createTopic(ctx, kadm.NewClient(cl), topic, 1, nil); err != nil {
		return err
	}
	var rs []*kgo.Record
	var want []string
	for i := 0; i < 10; i++ {
		v := fmt.Sprintf("%s-%d", tag, i)
		rs = append(rs, &kgo.Record{Topic: topic, Key: []byte(fmt.Sprintf("k%d", i)), Value: []byte(v)})
		want = append(want, v)
	}
	logf("%s: topic created", tag)
	if err := produceSync(ctx, cl, rs); err != nil {
		return err
	}
	logf("%s: produced", tag)
	got, err := consume(ctx, tag+"-read", topic, 10, 500*time.Millisecond, conn...)
	logf("%s: consumed", tag)
	if err != nil {
		return err
	}
	var have []string
	for _, r := range got {
		have = append(have, string(r.Value))
	}
	if strings.Join(have, ",") != strings.Join(want, ",") {
		return failf("%s: read %v, want %v", tag, have, want)
	}
	return nil
}

// refused checks that a wrong password fails with SASL_AUTHENTICATION_FAILED.
func refused(ctx context.Context, tag string, conn ...kgo.Opt) error {
	cl, err := newClient(base(tag, append(conn, kgo.RequestRetries(0))...)...)
	if err != nil {
		return err
	}
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	err = cl.Ping(pctx)
	logf("%s: refused", tag)
	if err == nil {
		return failf("%s: a wrong password was accepted", tag)
	}
	if !errors.Is(err, kerr.SaslAuthenticationFailed) {
		return failf("%s: wrong password failed with %v, want SASL_AUTHENTICATION_FAILED", tag, err)
	}
	return nil
}

func saslOpt(mech kgo.Opt) []kgo.Opt {
	return []kgo.Opt{kgo.SeedBrokers(os.Getenv("KC_SASL_BOOTSTRAP")), mech}
}

func saslPlain(ctx context.Context) (string, error) {
	user, pass := mustEnv("KC_PLAIN_USER"), mustEnv("KC_PLAIN_PASSWORD")
	if err := roundTrip(ctx, "plain", saslOpt(kgo.SASL(plain.Auth{User: user, Pass: pass}.AsMechanism()))...); err != nil {
		return "", err
	}
	if err := refused(ctx, "plain-bad", saslOpt(kgo.SASL(plain.Auth{User: user, Pass: "wrong-password"}.AsMechanism()))...); err != nil {
		return "", err
	}
	return "10 records over SASL/PLAIN; wrong password refused (SASL_AUTHENTICATION_FAILED)", nil
}

func saslScram(ctx context.Context) (string, error) {
	user, pass := mustEnv("KC_SCRAM_USER"), mustEnv("KC_SCRAM_PASSWORD")
	for _, m := range []struct {
		tag  string
		mech func(scram.Auth) kgo.Opt
	}{
		{"scram256", func(a scram.Auth) kgo.Opt { return kgo.SASL(a.AsSha256Mechanism()) }},
		{"scram512", func(a scram.Auth) kgo.Opt { return kgo.SASL(a.AsSha512Mechanism()) }},
	} {
		if err := roundTrip(ctx, m.tag, saslOpt(m.mech(scram.Auth{User: user, Pass: pass}))...); err != nil {
			return "", err
		}
		if err := refused(ctx, m.tag+"-bad", saslOpt(m.mech(scram.Auth{User: user, Pass: "wrong-password"}))...); err != nil {
			return "", err
		}
	}
	return "10 records each over SCRAM-SHA-256 and SCRAM-SHA-512; wrong passwords refused (SASL_AUTHENTICATION_FAILED)", nil
}

func tlsScenario(ctx context.Context) (string, error) {
	pem, err := os.ReadFile(mustEnv("KC_CA_PEM"))
	if err != nil {
		return "", err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return "", failf("no certificate in %s", os.Getenv("KC_CA_PEM"))
	}
	seed := kgo.SeedBrokers(os.Getenv("KC_SSL_BOOTSTRAP"))
	if err := roundTrip(ctx, "tls", seed, kgo.DialTLSConfig(&tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12})); err != nil {
		return "", err
	}
	// the verification is real: with the system roots instead of the run's CA the handshake fails
	cl, err := newClient(base("tls-noca", seed, kgo.DialTLSConfig(&tls.Config{}), kgo.RequestRetries(0))...)
	if err != nil {
		return "", err
	}
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	err = cl.Ping(pctx)
	var unknown x509.UnknownAuthorityError
	var verr *tls.CertificateVerificationError
	if err == nil || !(errors.As(err, &unknown) || errors.As(err, &verr)) {
		return "", failf("a client without the CA: %v, want a certificate verification error", err)
	}
	return fmt.Sprintf("10 records over SSL, certificate verified against the CA (without it: %v)", err), nil
}

var scenarios = []struct {
	name string
	fn   func(context.Context) (string, error)
}{
	{"produce-consume", produceConsume},
	{"gzip", compression("gzip", kgo.GzipCompression(), 1)},
	{"snappy", compression("snappy", kgo.SnappyCompression(), 2)},
	{"lz4", compression("lz4", kgo.Lz4Compression(), 3)},
	{"zstd", compression("zstd", kgo.ZstdCompression(), 4)},
	{"group-rebalance", groupRebalance},
	{"committed-offsets", committedOffsets},
	{"admin-topics", adminTopics},
	{"describe-configs", describeConfigs},
	{"sasl-plain", saslPlain},
	{"sasl-scram", saslScram},
	{"tls", tlsScenario},
}

func main() {
	only := map[string]bool{}
	for _, a := range os.Args[1:] {
		only[a] = true
	}
	for _, s := range scenarios {
		if len(only) > 0 && !only[s.name] {
			continue
		}
		t0 := time.Now()
		logf("%s: start", s.name)
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		detail, err := s.fn(ctx)
		cancel()
		closeAll()
		status := "PASS"
		if err != nil {
			status, detail = "FAIL", err.Error()
		}
		fmt.Fprintf(os.Stderr, "%s: %s in %.1fs\n", s.name, status, time.Since(t0).Seconds())
		fmt.Printf("RESULT %s %s %s\n", s.name, status, strings.Join(strings.Fields(detail), " "))
	}
}
