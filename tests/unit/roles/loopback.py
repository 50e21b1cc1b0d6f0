"""Loopback stand-ins for the role tests: a free port, and a server that answers one connection."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import socket
import threading


def free_port():
    """A loopback port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def serve_once(answer, read=None, wrap=None):
    """Accept one connection on loopback: ``wrap(conn)`` (if given) replaces it
    (a TLS server side); ``read(conn)`` (if given) takes the request, whose
    bytes are appended to ``seen`` (None when the connection failed); then
    ``answer`` is sent (nothing when None) and the connection closed.
    Returns (port, seen)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    seen = []

    def run():
        conn, _peer = listener.accept()
        try:
            with (wrap(conn) if wrap else conn) as served:
                if read is not None:
                    seen.append(read(served))
                if answer is not None:
                    served.sendall(answer)
        except OSError:  # ssl.SSLError is one: a client that spoke plain TCP
            seen.append(None)
        listener.close()

    threading.Thread(target=run, daemon=True).start()
    return listener.getsockname()[1], seen
