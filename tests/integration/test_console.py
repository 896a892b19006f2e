"""Issue 18: kavka-console (console/, docs/console.md), the web console, used
the way a person uses it: headless Chromium (Debian's chromium, driven by
Playwright) logs in, looks at the cluster, creates a topic, produces a JSON
message with Cyrillic text and sees it exactly as sent, watches a consumer
group's lag change after a consumer (confluent-kafka) reads and commits, and
is refused with a wrong password.  Every page is screenshotted (kept in
<build>/meson-logs/console-screenshots/ and the test's tmp dir; the paths are
printed), and the page must log no console error.

A second test drives the HTTP API without a browser: CSRF tokens, cookie
attributes, login refusal.

The console talks the Kafka protocol to any broker, so both tests also run
with KAVKA_TEST_TARGET=kafka against the Apache Kafka reference."""

import http.client
import json
import os
import re
import shutil
import subprocess
import time
import urllib.parse

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, ConfigResource

from conftest import HOST, REPO, SANITIZER_RE, free_port, shared_broker, unique_topic

broker = shared_broker

BUILD = os.path.dirname(os.path.dirname(
    os.environ.get("KAVKA_BROKER") or os.path.join(REPO, "build", "broker", "kavka-broker")))
CONSOLE = os.environ.get("KAVKA_CONSOLE") or os.path.join(BUILD, "console", "kavka-console")
CHROMIUM = os.environ.get("KAVKA_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = os.path.join(os.path.dirname(os.path.dirname(CONSOLE)), "meson-logs",
                         "console-screenshots")

FILE_USER, FILE_PASSWORD = "admin", "file-pw-%d" % os.getpid()
UI_USER, UI_PASSWORD = "ui", "Spring-pw-%d" % os.getpid()
CYRILLIC = '{"name": "Привет, мир", "город": "Москва"}'


class ConsoleProc:
    """kavka-console on a free port: users from its properties file and from
    Kafka UI's variables, the broker from KAFKA_CLUSTERS_0_BOOTSTRAPSERVERS."""

    def __init__(self, workdir, bootstrap):
        assert os.access(CONSOLE, os.X_OK), "%s not built" % CONSOLE
        self.port = free_port()
        self.base = "http://%s:%d" % (HOST, self.port)
        props = os.path.join(workdir, "console.properties")
        with open(props, "w") as f:
            f.write("console.host=%s\nconsole.port=%d\nconsole.users=%s:%s\n"
                    "console.cluster.name=test-cluster\n" % (HOST, self.port, FILE_USER, FILE_PASSWORD))
        env = dict(os.environ, AUTH_TYPE="LOGIN_FORM", SPRING_SECURITY_USER_NAME=UI_USER,
                   SPRING_SECURITY_USER_PASSWORD=UI_PASSWORD,
                   KAFKA_CLUSTERS_0_BOOTSTRAPSERVERS=bootstrap,
                   KAFKA_CLUSTERS_0_PROPERTIES_SECURITY_PROTOCOL="PLAINTEXT")
        self.log_path = os.path.join(workdir, "console.log")
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen([CONSOLE, props], stdout=self.log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, env=env, start_new_session=True)
        deadline = time.monotonic() + 20
        while True:
            assert self.proc.poll() is None, "console exited:\n" + self.log_text()
            try:
                status, _h, _b = request(self.port, "GET", "/login")
                if status == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, "console did not answer:\n" + self.log_text()
            time.sleep(0.1)

    def log_text(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode(errors="replace")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.log.close()
        text = self.log_text()
        assert not SANITIZER_RE.search(text.encode()), "sanitizer report from the console:\n" + text
        for secret in (FILE_PASSWORD, UI_PASSWORD):
            assert secret not in text, "a password is in the console's log"


@pytest.fixture
def console(broker, tmp_path):
    c = ConsoleProc(str(tmp_path), broker.bootstrap)
    yield c
    c.stop()


def request(port, method, path, body=None, headers=None):
    conn = http.client.HTTPConnection(HOST, port, timeout=60)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        r = conn.getresponse()
        return r.status, r.getheaders(), r.read()
    finally:
        conn.close()


def cookies_of(headers):
    out = {}
    for k, v in headers:
        if k.lower() == "set-cookie":
            name, _, rest = v.partition("=")
            out[name] = (rest.split(";")[0], v)
    return out


def login(console, user, password, with_csrf=True):
    """The login form as a browser posts it: (status, cookies set)."""
    status, headers, body = request(console.port, "GET", "/login")
    assert status == 200
    token = re.search(rb'name="csrf" value="([0-9a-f]+)"', body).group(1).decode()
    login_cookie = cookies_of(headers)["kavka_login"][0]
    form = {"username": user, "password": password}
    if with_csrf:
        form["csrf"] = token
    status, headers, body = request(
        console.port, "POST", "/login", urllib.parse.urlencode(form),
        {"Content-Type": "application/x-www-form-urlencoded", "Cookie": "kavka_login=" + login_cookie})
    return status, cookies_of(headers), body


def metadata_partitions(bootstrap, topic):
    # All topics: asking for one by name would auto-create it here.
    md = AdminClient({"bootstrap.servers": bootstrap}).list_topics(timeout=20)
    t = md.topics.get(topic)
    return None if t is None or t.error is not None else len(t.partitions)


def test_api_csrf_and_login(console, broker):
    # Wrong password, and a login post without its form token.
    status, cookies, body = login(console, FILE_USER, "not-the-password")
    assert status == 401 and "kavka_session" not in cookies
    assert b"Invalid username or password" in body
    status, cookies, _ = login(console, FILE_USER, FILE_PASSWORD, with_csrf=False)
    assert status == 403 and "kavka_session" not in cookies
    # No session: the API refuses, the page sends to the login form.
    assert request(console.port, "GET", "/api/topics")[0] == 401
    status, headers, _ = request(console.port, "GET", "/")
    assert status == 303 and dict(headers)["Location"] == "/login"

    status, cookies, _ = login(console, FILE_USER, FILE_PASSWORD)
    assert status == 303
    sid, raw = cookies["kavka_session"]
    assert "HttpOnly" in raw and "SameSite=Strict" in raw, raw
    cookie = {"Cookie": "kavka_session=" + sid}
    status, _h, body = request(console.port, "GET", "/api/session", headers=cookie)
    assert status == 200
    session = json.loads(body)
    assert session["user"] == FILE_USER and re.fullmatch(r"[0-9a-f]{64}", session["csrf"])

    topic = unique_topic("console-csrf")
    create = json.dumps({"name": topic, "partitions": 2})
    json_h = dict(cookie, **{"Content-Type": "application/json"})
    # Without the token, and with a wrong one: 403 and nothing created.
    assert request(console.port, "POST", "/api/topics", create, json_h)[0] == 403
    wrong = dict(json_h, **{"X-CSRF-Token": "0" * 64})
    assert request(console.port, "POST", "/api/topics", create, wrong)[0] == 403
    assert metadata_partitions(broker.bootstrap, topic) is None
    # With the session's token the same request works.
    good = dict(json_h, **{"X-CSRF-Token": session["csrf"]})
    status, _h, body = request(console.port, "POST", "/api/topics", create, good)
    assert status == 200, body
    assert metadata_partitions(broker.bootstrap, topic) == 2
    status, _h, body = request(console.port, "POST", "/api/topics", create, good)
    assert status == 409 and b"TOPIC_ALREADY_EXISTS" in body
    # DELETE needs the token too.
    assert request(console.port, "DELETE", "/api/topics/" + topic, headers=cookie)[0] == 403
    assert metadata_partitions(broker.bootstrap, topic) == 2
    status, _h, body = request(console.port, "DELETE", "/api/topics/" + topic, headers=good)
    assert status == 200, body
    # Logging out ends the session.
    assert request(console.port, "POST", "/api/logout", headers=good)[0] == 200
    assert request(console.port, "GET", "/api/session", headers=cookie)[0] == 401


def test_browser(console, broker, tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api")
    expect = sync_api.expect  # (the page's CSP forbids eval: no wait_for_function)
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail("no chromium at %s (scripts/bootstrap installs Debian's chromium)" % CHROMIUM)
    shots_dir = tmp_path / "screenshots"
    shots_dir.mkdir()
    shots = []

    def shot(page, name):
        path = str(shots_dir / (name + ".png"))
        page.screenshot(path=path, full_page=True)
        shots.append(path)
        os.makedirs(ARTIFACTS, exist_ok=True)
        shutil.copy(path, os.path.join(ARTIFACTS, name + ".png"))
        print("screenshot:", path)
        # No secret in any page.
        html = page.content()
        assert UI_PASSWORD not in html and FILE_PASSWORD not in html

    topic = unique_topic("console-ui")
    group = unique_topic("console-group")
    errors = []
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True,
                                     args=["--no-sandbox", "--disable-gpu"])
        try:
            # -- a wrong password is refused with a 401 page
            ctx = browser.new_context()
            page = ctx.new_page()
            page.goto(console.base + "/")
            assert page.url.endswith("/login")
            page.fill("#username", UI_USER)
            page.fill("#password", "wrong-password")
            with page.expect_response(lambda r: r.request.method == "POST") as info:
                page.click("#login-submit")
            assert info.value.status == 401
            assert page.locator("#login-error").inner_text() == "Invalid username or password."
            shot(page, "01-login-refused")
            page.goto(console.base + "/")
            assert page.url.endswith("/login"), "a refused login must not open a session"
            ctx.close()

            # -- the person's session
            ctx = browser.new_context()
            page = ctx.new_page()
            page.on("console", lambda m: errors.append("console %s: %s" % (m.type, m.text))
                    if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append("page error: %s" % e))
            page.on("dialog", lambda d: d.accept())
            page.goto(console.base + "/login")
            shot(page, "02-login")
            page.fill("#username", UI_USER)
            page.fill("#password", UI_PASSWORD)
            page.click("#login-submit")

            # Overview
            page.wait_for_selector("#overview")
            assert page.locator("#user").inner_text() == UI_USER
            assert page.locator("#broker-count").inner_text() == "1"
            port = broker.bootstrap.rsplit(":", 1)[1]
            assert page.locator("#brokers tbody tr td").nth(2).inner_text() == port
            assert page.locator("#cluster-id").inner_text() not in ("", "-")
            assert re.match(r"\d+ APIs; Produce v\d+, Fetch v\d+", page.locator("#protocol").inner_text())
            topics_before = int(page.locator("#topic-count").inner_text())
            shot(page, "03-overview")

            # Topics: create one with 2 partitions and a config
            page.click("#nav-topics")
            page.wait_for_selector("#create-topic")
            page.fill("#new-topic-name", topic)
            page.fill("#new-topic-partitions", "2")
            page.fill("#new-topic-configs", "retention.ms=3600000")
            page.click("#create-topic-submit")
            row = page.locator('#topics tr[data-topic="%s"]' % topic)
            row.wait_for()
            assert row.locator(".partitions").inner_text() == "2"
            assert row.locator(".messages").inner_text() == "0"
            assert metadata_partitions(broker.bootstrap, topic) == 2
            admin = AdminClient({"bootstrap.servers": broker.bootstrap})
            res = ConfigResource(ConfigResource.Type.TOPIC, topic)
            cfg = admin.describe_configs([res])[res].result(timeout=20)
            assert cfg["retention.ms"].value == "3600000"
            shot(page, "04-topics")

            # Messages: produce the Cyrillic JSON to partition 0, see it as sent
            row.locator(".topic-link").click()
            page.wait_for_selector("#produce")
            expect(page.locator("#produce-partition option")).to_have_count(3)
            page.select_option("#produce-partition", "0")
            page.fill("#produce-key", "ключ-1")
            page.fill("#produce-value", CYRILLIC)
            page.fill("#produce-headers", "source: тест")
            page.click("#produce-submit")
            page.wait_for_selector("#produce-result:has-text('offset 0')")
            msg = page.locator("#messages tr.message")
            msg.first.wait_for()
            assert msg.count() == 1
            assert msg.first.locator(".value code.raw").text_content() == CYRILLIC
            assert msg.first.locator(".value pre.pretty").inner_text() == json.dumps(
                json.loads(CYRILLIC), indent=2, ensure_ascii=False)
            assert msg.first.locator(".key code.raw").text_content() == "ключ-1"
            assert msg.first.locator(".headers").inner_text() == "source: тест"
            assert msg.first.get_attribute("data-partition") == "0"
            # The broker holds the bytes as sent (a client of its own reads them).
            c = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": group + "-check",
                          "enable.auto.commit": False})
            c.assign([TopicPartition(topic, 0, 0)])
            m = c.poll(20)
            assert m is not None and m.error() is None
            assert m.value() == CYRILLIC.encode() and m.key() == "ключ-1".encode()
            assert m.headers() == [("source", "тест".encode())]
            c.close()
            # A second message, and the text filter.
            page.fill("#produce-key", "")
            page.fill("#produce-value", "plain text, not JSON")
            page.fill("#produce-headers", "")
            page.click("#produce-submit")
            page.wait_for_selector("#produce-result:has-text('offset 1')")
            expect(msg).to_have_count(2)
            # Newest first
            assert msg.first.locator(".value code.raw").text_content() == "plain text, not JSON"
            page.fill("#msg-filter", "Привет")
            page.click("#msg-load")
            expect(msg).to_have_count(1)
            assert msg.first.locator(".value code.raw").text_content() == CYRILLIC
            shot(page, "05-messages")

            # Consumer group lag: 3 more records on partition 0 (5 in all);
            # a consumer reads one and commits it: lag 4.
            p = Producer({"bootstrap.servers": broker.bootstrap})
            for i in range(3):
                p.produce(topic, value=("событие %d" % i).encode(), partition=0)
            assert p.flush(20) == 0
            c = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": group,
                          "enable.auto.commit": False, "auto.offset.reset": "earliest"})
            c.assign([TopicPartition(topic, 0, 0)])
            m = c.poll(20)
            assert m is not None and m.error() is None and m.offset() == 0
            c.commit(message=m, asynchronous=False)
            page.click("#nav-groups")
            grow = page.locator('#groups tr[data-group="%s"]' % group)
            grow.wait_for()
            assert grow.locator(".lag").inner_text() == "4"
            shot(page, "06-groups")
            grow.locator(".group-link").click()
            page.wait_for_selector("#group-offsets")
            prow = page.locator('#group-offsets tr[data-topic="%s"][data-partition="0"]' % topic)
            assert prow.locator(".committed").inner_text() == "1"
            assert prow.locator(".lag").inner_text() == "4"
            # It reads the rest and commits: the lag the page shows is 0.
            last = None
            for _ in range(4):
                last = c.poll(20)
                assert last is not None and last.error() is None
            assert last.offset() == 4
            c.commit(message=last, asynchronous=False)
            c.close()
            page.reload()
            page.wait_for_selector("#group-offsets")
            assert prow.locator(".committed").inner_text() == "5"
            assert prow.locator(".lag").inner_text() == "0"
            assert page.locator("#group-lag").inner_text() == "0"
            # A live member: a subscribed consumer shows with its assignment.
            live = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": group,
                             "enable.auto.commit": False, "session.timeout.ms": 10000})
            try:
                live.subscribe([topic])
                deadline = time.monotonic() + 60
                while not live.assignment():
                    assert time.monotonic() < deadline, "the consumer got no assignment"
                    live.poll(0.2)
                page.reload()
                page.wait_for_selector("#group-members")
                members = page.locator("#group-members tbody tr")
                expect(members).to_have_count(1)
                assert page.locator("#group-state").inner_text() == "Stable"
                assigned = sorted(members.first.locator("td").nth(3).inner_text().split(", "))
                assert assigned == [topic + "-0", topic + "-1"]
                assert prow.locator("td").nth(5).inner_text() != "-"   # the owning member
                shot(page, "07-group")
            finally:
                live.close()
            page.click("#nav-groups")
            grow.wait_for()
            assert grow.locator(".lag").inner_text() == "0"

            # Overview counts the new topic; the topic list counts its records.
            page.click("#nav-overview")
            page.wait_for_selector("#overview")
            assert int(page.locator("#topic-count").inner_text()) == topics_before + 1
            page.click("#nav-topics")
            row.wait_for()
            assert row.locator(".messages").inner_text() == "5"

            # Delete the topic from its row (the confirm dialog is accepted).
            row.locator("button.delete").click()
            row.wait_for(state="detached")
            deadline = time.monotonic() + 20
            while metadata_partitions(broker.bootstrap, topic) is not None:
                assert time.monotonic() < deadline, "topic still there after delete"
                time.sleep(0.2)
            shot(page, "08-topic-deleted")
            ctx.close()
        finally:
            browser.close()
    assert not errors, "the page logged errors:\n" + "\n".join(errors)
    print("screenshots:\n" + "\n".join(shots))
