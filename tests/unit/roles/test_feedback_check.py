"""The Direct Routing feedback checker of the load_balancer role (keepalived
MISC_CHECK with misc_dynamic), against loopback agents and the real agent."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import socket
import subprocess
import threading
from pathlib import Path

import pytest
from loopback import free_port, serve_once

ROOT = Path(__file__).resolve().parents[3]
CHECKER = ROOT / "roles" / "load_balancer" / "files" / "feedback-check"
AGENT = ROOT / "roles" / "feedback_agent" / "files" / "lbstack_feedback_agent.py"


def read_http_head(conn):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(1024)
        if not chunk:
            break
        data += chunk
    return data


def serve(answer, request=False):
    """A one-shot loopback agent that sends ``answer`` (after reading an HTTP request when asked)."""
    return serve_once(answer, read=read_http_head if request else None)


@pytest.fixture
def dirs(tmp_path):
    admin, replies = tmp_path / "admin", tmp_path / "replies"
    admin.mkdir()
    replies.mkdir()
    return admin, replies


def check(dirs, method, port, weight=100, service="SVC", server="rs1"):
    env = dict(os.environ, LBSTACK_ADMIN_DIR=str(dirs[0]), LBSTACK_REPLY_DIR=str(dirs[1]),
               LBSTACK_FEEDBACK_TIMEOUT="1")
    return subprocess.run([str(CHECKER), method, "127.0.0.1", str(port), str(weight), service, server],
                          env=env, timeout=10, check=False, stderr=subprocess.DEVNULL).returncode


def reply(dirs, port):
    return (dirs[1] / ("127.0.0.1-%d" % port)).read_text().strip()


@pytest.mark.parametrize("answer,weight,status", [
    (b"75%\n", 100, 77),             # weight 75
    (b"75%\n", 200, 152),            # 150
    (b"33%\r\n", 253, 85),           # round(83.49) = 83
    (b"0%\n", 100, 2),               # weight 0: drained
    (b"100%\n", 100, 102),
    (b"0% down #broker not running\n", 100, 1),
    (b"drain\n", 100, 2),
    (b"maint\n", 100, 1),
    (b"up 50%\n", 100, 52),
    (b"50%,drain\n", 100, 2),
    (b"fail 80%\n", 100, 1),
    (b"ready\n", 100, 102),          # no idle value: the configured weight
    (b"\x00\xffgarbage\n", 100, 102),
    (b"250%\n", 100, 102),           # out of range: ignored
    (b"", 100, 102),                 # closed without a word
])
def test_agent_replies(dirs, answer, weight, status):
    port, _seen = serve(answer)
    assert check(dirs, "agent", port, weight) == status


def test_reply_is_recorded(dirs):
    port, _seen = serve(b"42%\n")
    assert check(dirs, "agent", port) == 44
    assert reply(dirs, port) == "42%"
    closed = free_port()
    assert check(dirs, "agent", closed, 60) == 62
    assert reply(dirs, closed).startswith("no answer")


@pytest.mark.parametrize("answer,status", [
    (b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\n40", 42),
    (b"HTTP/1.0 200 OK\r\n\r\n40\n", 42),
    (b"HTTP/1.1 503 Service Unavailable\r\n\r\n0", 1),
    (b"HTTP/1.0 404 Not Found\r\n\r\nnope", 102),
    (b"HTTP/1.0 200 OK\r\n\r\nbusy", 102),
])
def test_http_replies(dirs, answer, status):
    port, seen = serve(answer, request=True)
    assert check(dirs, "http", port) == status
    assert seen[0].startswith(b"GET / HTTP/1.0\r\n")


@pytest.mark.parametrize("state,status", [("halted", 1), ("drained", 2), ("online", 52)])
def test_admin_state_wins_over_the_agent(dirs, state, status):
    (dirs[0] / "SVC").mkdir()
    (dirs[0] / "SVC" / "rs1").write_text(state + "\n")
    port, _seen = serve(b"50%\n")
    if status != 52:
        # the agent is not even asked
        assert check(dirs, "agent", port) == status
        port, _seen = serve(b"50%\n")
    assert check(dirs, "agent", port) == status
    assert check(dirs, "none", free_port(), 80) == (82 if state == "online" else status)


@pytest.mark.parametrize("line,agent,status", [
    ("online 40", b"50%\n", 22),    # the operator's weight replaces the configured one
    ("online 40", None, 42),         # no feedback: the operator's weight itself
    ("online 0", b"50%\n", 2),
    ("drained 40", b"50%\n", 2),    # drained wins over the weight
    ("online 254", None, 82),        # out of keepalived's range: ignored
    ("online x", None, 82),
])
def test_operator_weight(dirs, line, agent, status):
    (dirs[0] / "SVC").mkdir()
    (dirs[0] / "SVC" / "rs1").write_text(line + "\n")
    if agent is None:
        assert check(dirs, "none", free_port(), 80) == status
    else:
        port, _seen = serve(agent)
        assert check(dirs, "agent", port, 80) == status


@pytest.mark.parametrize("args", [["agent", "127.0.0.1", "1", "254", "S", "R"],
                                  ["agent", "127.0.0.1", "1", "x", "S", "R"],
                                  ["smtp", "127.0.0.1", "1", "10", "S", "R"],
                                  ["agent", "127.0.0.1"]])
def test_bad_arguments_fail(args):
    assert subprocess.run([str(CHECKER)] + args, timeout=10, check=False,
                          stderr=subprocess.DEVNULL).returncode == 1


@pytest.mark.parametrize("method", ["agent", "http"])
def test_against_the_real_agent(dirs, tmp_path, method):
    """The checker reads what the feedback agent sends: online, drained, halted."""
    port = free_port()
    config = tmp_path / "agent.json"
    state = tmp_path / "state"
    config.write_text('{"method": "%s", "bind": "127.0.0.1", "port": %d, "state_file": "%s", "cgroup": "none",'
                      ' "monitors": {"cpu": {"importance": 0}}}' % (method, port, state))
    agent = subprocess.Popen(["python3", str(AGENT), "serve", "--config", str(config)],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _attempt in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), 0.1).close()
                break
            except OSError:
                threading.Event().wait(0.05)
        # no monitor carries weight: idle 100
        assert check(dirs, method, port, 80) == 82
        for command, status in (("drain", 2), ("halt", 1), ("online", 82)):
            subprocess.run(["python3", str(AGENT), command, "--config", str(config)], check=True,
                           stdout=subprocess.DEVNULL, timeout=10)
            assert check(dirs, method, port, 80) == status, command
    finally:
        agent.terminate()
        agent.wait(10)
