"""The AMQP health checker of the load_balancer role, against loopback servers."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import socket
import ssl
import struct
import subprocess
import tempfile
from pathlib import Path

import pytest
from certs import issue
from loopback import free_port, serve_once

CHECKER = Path(__file__).resolve().parents[3] / "roles" / "load_balancer" / "files" / "amqp-check"
# Frame header of connection.start as RabbitMQ sends it: type 1, channel 0, size, class 10, method 10.
START = b"\x01\x00\x00" + struct.pack(">I", 500) + b"\x00\x0a\x00\x0a" + b"\x00" * 20
CLOSE = b"\x01\x00\x00" + struct.pack(">I", 500) + b"\x00\x0a\x00\x32"


def serve(answer):
    """A one-shot loopback server that reads the protocol header and sends ``answer``."""
    return serve_once(answer, read=lambda conn: conn.recv(8))


def check(port, *extra):
    return subprocess.run([str(CHECKER), "127.0.0.1", str(port)] + list(extra), timeout=10, check=False,
                          stderr=subprocess.DEVNULL).returncode


def test_a_broker_that_starts_the_connection_passes():
    port, seen = serve(START)
    assert check(port) == 0
    assert seen == [b"AMQP\x00\x00\x09\x01"]


@pytest.mark.parametrize("answer", [CLOSE, START[:6], b"AMQP\x00\x00\x09\x01", b""])
def test_anything_else_fails(answer):
    port, _seen = serve(answer)
    assert check(port) != 0


def test_a_closed_port_fails():
    assert check(free_port()) != 0


def test_silence_fails_within_the_deadline():
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    try:
        assert check(listener.getsockname()[1], "0.3") != 0
    finally:
        listener.close()


def serve_tls(answer):
    """serve() behind TLS (the broker's TLS listener), with a throwaway certificate."""
    _ca, cert, key = issue()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    with tempfile.TemporaryDirectory() as tmp:
        for name, text in (("cert.pem", cert), ("key.pem", key)):
            with open(os.path.join(tmp, name), "w") as handle:
                handle.write(text)
        context.load_cert_chain(os.path.join(tmp, "cert.pem"), os.path.join(tmp, "key.pem"))
    return serve_once(answer, read=lambda conn: conn.recv(8),
                      wrap=lambda conn: context.wrap_socket(conn, server_side=True))


def test_tls_a_broker_that_starts_the_connection_inside_tls_passes():
    port, seen = serve_tls(START)
    assert check(port, "2", "tls") == 0
    assert seen == [b"AMQP\x00\x00\x09\x01"]


def test_tls_a_close_inside_tls_fails():
    port, _seen = serve_tls(CLOSE)
    assert check(port, "2", "tls") != 0


def test_tls_a_plain_listener_fails():
    port, _seen = serve(START)
    assert check(port, "2", "tls") != 0


def test_plain_check_of_a_tls_listener_fails():
    port, _seen = serve_tls(START)
    assert check(port, "1") != 0
