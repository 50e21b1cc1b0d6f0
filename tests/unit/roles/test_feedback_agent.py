"""The feedback agent of the feedback_agent role: settings, idle computation, reply
grammar, admin state, the /proc and cgroup readers, and both responders under
random and malformed input."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import asyncio
import contextlib
import json
import os
import random
import socket
import threading
import time
from importlib.machinery import SourceFileLoader
from importlib.util import module_from_spec, spec_from_loader
from pathlib import Path

import pytest
from loopback import free_port

AGENT_PATH = Path(__file__).resolve().parents[3] / "roles" / "feedback_agent" / "files" / "lbstack_feedback_agent.py"
_loader = SourceFileLoader("lbstack_feedback_agent", str(AGENT_PATH))
agent = module_from_spec(spec_from_loader("lbstack_feedback_agent", _loader))
_loader.exec_module(agent)


# ---------------------------------------------------------------- settings
def test_defaults_are_the_guides():
    settings = agent.load_settings("")
    assert settings["port"] == 3333 and settings["method"] == "agent"
    assert settings["monitors"]["cpu"] == {"importance": 1.0, "threshold": 100}


@pytest.mark.parametrize("raw, field", [
    ({"prot": 1}, "prot: unknown setting"),
    ({"method": "udp"}, "method:"),
    ({"port": 70000}, "port:"),
    ({"port": True}, "port:"),
    ({"bind": "lb1.example.org"}, "bind:"),
    ({"allowed_sources": ["198.18.0.0/33"]}, "allowed_sources:"),
    ({"monitors": {"disk": {}}}, "monitors: only"),
    ({"monitors": {"cpu": {"importance": -1}}}, "monitors.cpu.importance:"),
    ({"monitors": {"memory": {"threshold": 0}}}, "monitors.memory.threshold:"),
    ({"scripts": [{"command": "uptime"}]}, "scripts[0].command:"),
    ({"scripts": [{"command": ["x"], "timeout": 99}]}, "scripts[0].timeout:"),
    ({"rabbitmq": {"node": "rabbit@mq-1"}}, "rabbitmq.node:"),
    ({"rabbitmq": {"command": ["x"]}}, "rabbitmq: only"),
    ({"rabbitmq": {"refresh": 1}}, "rabbitmq.refresh:"),
])
def test_bad_settings_name_the_field(raw, field):
    with pytest.raises(agent.SettingsError, match=field.replace("[", r"\[").replace("]", r"\]")):
        agent.load_settings(json.dumps(raw))


def test_settings_that_are_not_json():
    with pytest.raises(agent.SettingsError, match="settings: not JSON"):
        agent.load_settings("port = 3333")


# ---------------------------------------------------------------- idle
W = {"cpu": (1.0, 100), "memory": (0.0, 100), "connections": (0.0, 100)}


@pytest.mark.parametrize("utilizations, weights, idle", [
    ({"cpu": 0, "memory": 50, "connections": 10}, W, 100),
    ({"cpu": 37.4, "memory": None, "connections": None}, W, 63),
    ({"cpu": 100, "memory": None, "connections": None}, W, 0),
    # importance-weighted mean: cpu 40 (x1), memory 70 (x2) -> 60 busy
    ({"cpu": 40, "memory": 70}, {"cpu": (1, 100), "memory": (2, 100)}, 40),
    # a monitor at or above its threshold makes the server busy
    ({"cpu": 10, "memory": 81}, {"cpu": (1, 100), "memory": (1, 80)}, 0),
    # no reading yet, or no importance: left out; nothing left: idle
    ({"cpu": None}, W, 100),
    ({"cpu": 250}, W, 0),
    ({"cpu": -5}, W, 100),
])
def test_idle_value(utilizations, weights, idle):
    assert agent.idle_value(utilizations, weights) == idle


# ---------------------------------------------------------------- replies
@pytest.mark.parametrize("idle, admin, broker, line", [
    (63, "online", "running", "63% up\n"),
    (63, "online", "unknown", "63% up\n"),
    (0, "online", "running", "0% up\n"),
    (63, "drain", "running", "0% up\n"),
    (63, "online", "drain", "0% up\n"),
    (63, "halt", "running", "0% down #halted on the real server\n"),
    (63, "drain", "down", "0% down #rabbitmq is not running\n"),
    (140, "online", "running", "100% up\n"),
])
def test_agent_reply_grammar(idle, admin, broker, line):
    assert agent.agent_reply(idle, admin, broker) == line


def test_the_agent_never_sends_haproxy_admin_words():
    words = set()
    for admin in agent.ADMIN_STATES:
        for broker in ("running", "drain", "down", "unknown"):
            words.update(agent.agent_reply(50, admin, broker).split("#")[0].split())
    assert not words & {"ready", "drain", "maint"}


@pytest.mark.parametrize("admin, broker, status, body", [
    ("online", "running", 200, "63"), ("drain", "running", 200, "0"), ("online", "drain", 200, "0"),
    ("halt", "running", 503, "0"), ("online", "down", 503, "0"),
])
def test_http_reply(admin, broker, status, body):
    assert agent.http_reply(63, admin, broker) == (status, body)


# ---------------------------------------------------------------- admin state
def test_admin_state_is_persisted(tmp_path):
    path = str(tmp_path / "state")
    assert agent.read_admin(path) == "online"
    agent.write_admin(path, "drain")
    assert agent.read_admin(path) == "drain"
    agent.write_admin(path, "halt")
    assert agent.read_admin(path) == "halt" and os.listdir(str(tmp_path)) == ["state"]
    with pytest.raises(agent.SettingsError, match="admin state"):
        agent.write_admin(path, "maint")
    (tmp_path / "state").write_text("garbage\n")
    assert agent.read_admin(path) == "online"


def test_check_names_the_bad_setting(tmp_path, capsys):
    config = tmp_path / "agent.json"
    config.write_text(json.dumps({"port": 3333, "cgroup": "none"}))
    assert agent.main(["check", "--config", str(config)]) == 0
    config.write_text(json.dumps({"prot": 3333}))
    with pytest.raises(SystemExit) as err:
        agent.main(["check", "--config", str(config)])
    assert err.value.code == 2 and "prot: unknown setting" in capsys.readouterr().err


def test_admin_commands_on_the_command_line(tmp_path, capsys):
    config = tmp_path / "agent.json"
    config.write_text(json.dumps({"state_file": str(tmp_path / "state")}))
    assert agent.main(["halt", "--config", str(config)]) == 0
    assert agent.read_admin(str(tmp_path / "state")) == "halt"
    agent.main(["online", "--config", str(config)])
    assert agent.read_admin(str(tmp_path / "state")) == "online"


# ---------------------------------------------------------------- readers
PROC_NET_TCP = """  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000:1628 00000000:0000 0A 00000000:00000000 00:00000000 00000000   107        0 1 1
   1: 1500A8C6:1628 1E0012C6:D2F0 01 00000000:00000000 00:00000000 00000000   107        0 2 1
   2: 1500A8C6:1628 1E0012C6:D2F2 01 00000000:00000000 00:00000000 00000000   107        0 3 1
   3: 1500A8C6:D2F4 1E0012C6:1628 01 00000000:00000000 00:00000000 00000000   107        0 4 1
   4: 1500A8C6:1628 1E0012C6:D2F6 06 00000000:00000000 00:00000000 00000000   107        0 5 1
"""


def test_count_connections_counts_established_to_the_local_port():
    # 0x1628 = 5672: two established inbound; the listener, an outbound one and a TIME_WAIT are not counted
    assert agent.count_connections([PROC_NET_TCP, ""], 5672) == 2


def test_cpu_and_memory_parsers():
    assert agent.parse_cpu_max("50000 100000\n", 8) == 0.5
    assert agent.parse_cpu_max("max 100000\n", 8) == 8.0
    assert agent.parse_cpu_stat("usage_usec 1234\nuser_usec 1000\n") == 1234
    busy, total = agent.parse_proc_stat("cpu  100 0 50 800 50 0 0 0 0 0\ncpu0 1 2 3 4\n")
    assert (busy, total) == (150, 1000)
    assert agent.parse_meminfo("MemTotal: 1000 kB\nMemFree: 100 kB\nMemAvailable: 250 kB\n") == 75.0


def cgroup(tmp_path, cpu_max="100000 100000", memory_max="1000", current="250", usage=0):
    (tmp_path / "cpu.max").write_text(cpu_max + "\n")
    (tmp_path / "memory.max").write_text(memory_max + "\n")
    (tmp_path / "memory.current").write_text(current + "\n")
    (tmp_path / "cpu.stat").write_text("usage_usec %d\n" % usage)
    return str(tmp_path)


def cgroup_v1(tmp_path, quota="-1", limit=str(9223372036854771712), usage_ns="0", current="250", split=False):
    """split: cpu and cpuacct mounted apart, with an empty cpu,cpuacct (the lab's containers)."""
    cpu = tmp_path / ("cpu" if split else "cpu,cpuacct")
    acct = tmp_path / ("cpuacct" if split else "cpu,cpuacct")
    memory = tmp_path / "memory"
    for directory in (cpu, acct, memory, tmp_path / "cpu,cpuacct"):
        directory.mkdir(exist_ok=True)
    (cpu / "cpu.cfs_quota_us").write_text(quota + "\n")
    (cpu / "cpu.cfs_period_us").write_text("100000\n")
    (acct / "cpuacct.usage").write_text(usage_ns + "\n")
    (memory / "memory.limit_in_bytes").write_text(limit + "\n")
    (memory / "memory.usage_in_bytes").write_text(current + "\n")
    return str(tmp_path)


def test_cgroup_auto_only_where_a_limit_is_set(tmp_path):
    assert agent.cgroup_dir("auto", cgroup(tmp_path)).version == 2
    assert agent.cgroup_dir("auto", cgroup(tmp_path, cpu_max="max 100000", memory_max="max")) is None
    assert agent.cgroup_dir("none") is None
    with pytest.raises(agent.SettingsError, match="cgroup: .* has no cpu.stat"):
        agent.cgroup_dir(str(tmp_path / "missing"))


@pytest.mark.parametrize("split", [False, True])
def test_cgroup_v1_as_this_machine_gives_containers(tmp_path, split):
    # no limit: the host-wide figures are right
    assert agent.cgroup_dir("auto", cgroup_v1(tmp_path, split=split)) is None
    # half a CPU of quota (podman --cpus 0.5) and 1000 bytes of memory
    group = agent.cgroup_dir("auto", cgroup_v1(tmp_path, quota="50000", limit="1000", usage_ns="2500000000",
                                               split=split))
    assert group.version == 1 and group.cpus(8) == 0.5 and group.usage_seconds() == 2.5
    assert group.memory_limit() == 1000 and group.memory_current() == 250


def test_the_sampler_reads_the_brokers_cgroup(tmp_path):
    # one CPU of quota; 0.6 s of CPU used in 1 s: 60 % busy, idle 40
    path = cgroup(tmp_path, usage=0)
    clock = [100.0]
    settings = agent.load_settings(json.dumps({"cgroup": path, "monitors": {"memory": {"importance": 0}}}))
    sampler = agent.Sampler(settings, now=lambda: clock[0])
    sampler.sample()
    assert sampler.snapshot() == (100, "running")        # no CPU reading yet
    clock[0] += 1.0
    cgroup(tmp_path, usage=600000)
    sampler.sample()
    assert sampler.snapshot() == (40, "running")
    # memory 250 of 1000 with importance 1: mean of 60 and 25 busy -> idle 57.5 -> 58 (round half even: 58)
    settings["monitors"]["memory"]["importance"] = 1.0
    clock[0] += 1.0
    cgroup(tmp_path, usage=1200000)
    sampler.sample()
    assert sampler.snapshot()[0] == round(100 - (60 + 25) / 2.0)


EPMD_REPLY = b"\x00\x00\x11\x11name rabbit at port 25672\n"
METRICS = """# TYPE rabbitmq_alarms_memory_used_watermark untyped
rabbitmq_alarms_file_descriptor_limit 0
rabbitmq_alarms_free_disk_space_watermark 0
rabbitmq_alarms_memory_used_watermark %d
rabbitmq_connections 12
"""


def test_broker_readers():
    assert agent.epmd_names(EPMD_REPLY) == ["rabbit"]
    assert agent.epmd_names(b"\x00\x00\x11\x11") == []
    assert agent.prometheus_alarms(METRICS % 0) == []
    assert agent.prometheus_alarms(METRICS % 1) == ["memory_used_watermark"]


@pytest.mark.parametrize("listening, registered, alarms, verdict", [
    (True, True, [], "running"),
    (True, True, ["memory_used_watermark"], "drain"),
    (False, True, [], "drain"),        # maintenance mode (or booting): listeners suspended
    (False, False, [], "down"),        # the node is not running
])
def test_broker_verdict(listening, registered, alarms, verdict):
    assert agent.broker_verdict(listening, registered, alarms) == verdict


def one_shot_server(answer):
    """A loopback listener answering every connection with ``answer(request bytes)``."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)

    def run():
        while True:
            try:
                conn, _peer = listener.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(1)
                try:
                    request = conn.recv(4096)
                except OSError:
                    request = b""
                conn.sendall(answer(request))

    threading.Thread(target=run, daemon=True).start()
    return listener


def test_probe_broker_against_loopback_stand_ins():
    amqp = one_shot_server(lambda request: b"")
    epmd = one_shot_server(lambda request: EPMD_REPLY if request == b"\x00\x01n" else b"")
    alarm = [0]
    metrics = one_shot_server(lambda request: b"HTTP/1.0 200 OK\r\n\r\n" + (METRICS % alarm[0]).encode())
    conf = agent.load_settings(json.dumps({"rabbitmq": {
        "enabled": True, "epmd_port": epmd.getsockname()[1],
        "prometheus_port": metrics.getsockname()[1]}}))["rabbitmq"]
    port = amqp.getsockname()[1]
    assert agent.probe_broker(conf, port) == ("running", {"listening": True, "registered": True, "alarms": []})
    alarm[0] = 1
    assert agent.probe_broker(conf, port)[0] == "drain"
    # listener gone, node still registered: maintenance mode
    assert agent.probe_broker(conf, free_port()) == ("drain", {"listening": False, "registered": True, "alarms": []})
    # no epmd either: down
    gone = dict(conf, epmd_port=free_port())
    assert agent.probe_broker(gone, free_port())[0] == "down"
    for server in (amqp, epmd, metrics):
        server.close()


def test_the_broker_is_probed_at_most_every_refresh(monkeypatch):
    calls = []
    monkeypatch.setattr(agent, "probe_broker", lambda conf, port: calls.append(port) or ("drain", {}))
    clock = [0.0]
    settings = agent.load_settings(json.dumps({"cgroup": "none", "rabbitmq": {"enabled": True, "refresh": 5}}))
    sampler = agent.Sampler(settings, now=lambda: clock[0])
    for _tick in range(5):
        sampler.sample()
        clock[0] += 1.0
    assert sampler.snapshot()[1] == "drain" and calls == [5672]
    clock[0] += 1.0
    sampler.sample()
    assert calls == [5672, 5672]


def test_a_custom_script_monitor(tmp_path):
    script = tmp_path / "busy.sh"
    script.write_text("#!/bin/sh\necho 70\n")
    script.chmod(0o755)
    settings = agent.load_settings(json.dumps({"cgroup": "none", "monitors": {"cpu": {"importance": 0}},
                                               "scripts": [{"command": [str(script)], "importance": 2}]}))
    sampler = agent.Sampler(settings)
    sampler.sample()
    assert sampler.snapshot()[0] == 30


# ---------------------------------------------------------------- responders under abuse
class FixedSampler(object):
    def snapshot(self):
        return 63, "running"


@contextlib.contextmanager
def started_agent(method, tmp_path):
    """An agent answering on an ephemeral loopback port, in its own event loop thread."""
    settings = agent.load_settings(json.dumps({"method": method, "bind": "127.0.0.1",
                                               "state_file": str(tmp_path / "state")}))
    settings["port"] = 0
    responder = agent.Agent(settings, FixedSampler())
    loop = asyncio.new_event_loop()
    started = threading.Event()
    box = {}

    def ready(server):
        box["port"] = server.sockets[0].getsockname()[1]
        started.set()

    def run():
        box["task"] = loop.create_task(responder.serve(ready))
        try:
            loop.run_until_complete(box["task"])
        except asyncio.CancelledError:
            pass
        finally:
            loop.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert started.wait(5)
    try:
        yield box["port"]
    finally:
        loop.call_soon_threadsafe(box["task"].cancel)
        thread.join(5)


@pytest.fixture(params=["agent", "http"])
def running_agent(request, tmp_path):
    with started_agent(request.param, tmp_path) as port:
        yield request.param, port


def poll(method, port, pieces=(b"GET / HTTP/1.0\r\n\r\n",), pause=0.0):
    """One poll (HTTP: the request sent in ``pieces``, ``pause`` apart); (reply, seconds)."""
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        if method == "http":
            for piece in pieces:
                sock.sendall(piece)
                time.sleep(pause)
        data = b""
        while True:
            chunk = sock.recv(4096)
            if not chunk:
                break
            data += chunk
    return data, time.monotonic() - started


def test_http_request_head_in_pieces_is_read_whole(tmp_path):
    """The agent reads the whole request head before it answers and closes: a
    socket closed with unread bytes sends a reset, which can cost the client
    the reply (the director's checker writes the head in pieces)."""
    with started_agent("http", tmp_path) as port:
        for _attempt in range(30):
            data, _seconds = poll("http", port, (b"GET / HTTP/1.0\r\n", b"Host: 127.0.0.1\r\nUser-Agent: t\r\n",
                                                 b"\r\n"), pause=0.005)
            assert data.startswith(b"HTTP/1.0 200 ") and data.endswith(b"\r\n\r\n63")


def test_a_well_behaved_poll(running_agent):
    method, port = running_agent
    reply, _seconds = poll(method, port)
    if method == "agent":
        assert reply == b"63% up\n"
    else:
        assert reply.startswith(b"HTTP/1.0 200 OK\r\n") and reply.endswith(b"\r\n\r\n63")


def test_garbage_half_open_slow_and_floods_do_not_block_other_pollers(running_agent):
    method, port = running_agent
    rng = random.Random(8)
    idle = []
    # half-open and slow connections that never finish a request
    for _n in range(50):
        sock = socket.create_connection(("127.0.0.1", port))
        sock.sendall(b"GET / HT")
        idle.append(sock)
    # random bytes, long lines, binary, immediate resets
    for _n in range(200):
        with socket.create_connection(("127.0.0.1", port)) as sock:
            payload = bytes(rng.getrandbits(8) for _i in range(rng.choice([0, 1, 17, 300, 5000])))
            try:
                sock.sendall(payload)
                if rng.random() < 0.3:
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            except OSError:
                pass
    # well-behaved pollers still get their answer at once
    for _n in range(20):
        reply, seconds = poll(method, port)
        assert reply.endswith(b"63% up\n" if method == "agent" else b"63") and seconds < 0.5
    for sock in idle:
        sock.close()
    # and a flood of 100 concurrent pollers is answered in full
    results = []
    threads = [threading.Thread(target=lambda: results.append(poll(method, port)[0])) for _n in range(100)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert len(results) == 100 and all(r.endswith(b"63% up\n" if method == "agent" else b"63") for r in results)


def test_http_rejects_what_is_not_a_request(tmp_path):
    with started_agent("http", tmp_path) as port:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            sock.sendall(b"\x16\x03\x01 garbage\r\n")
            assert sock.recv(100).startswith(b"HTTP/1.0 400 ")


def test_allowed_sources():
    settings = agent.load_settings(json.dumps({"allowed_sources": ["198.18.0.0/24", "2001:db8:18::/64"]}))
    responder = agent.Agent(settings, FixedSampler())
    assert responder.allowed("198.18.0.11") and responder.allowed("::ffff:198.18.0.12")
    assert responder.allowed("2001:db8:18::12")
    assert responder.allowed("127.0.0.1") and responder.allowed("::1") and responder.allowed("::ffff:127.0.0.1")
    assert not responder.allowed("198.18.1.1") and not responder.allowed("not-an-address")
