"""Which TCP ports answer, from the host this runs on (the lab's firewall checks).

    reach.py 198.18.0.21:25672 [2001:db8:18::21]:25672 ...

Prints one JSON object, each target -> open (connected), refused (a reset: no
listener, or a reject) or timeout (no answer within --timeout: dropped).

    reach.py --source-ports 40100-40139 --send junk 198.18.0.100:5672

connects from each of those client ports in turn (IPv4), sends the text and
waits until the server ends the connection (a broker resets one that does not
speak AMQP): what a client leaves behind on a Direct Routing director, whose
entries of such connections stay, and what a later client reusing the port
meets. Prints each target -> {port: open, refused or timeout}.
"""

import argparse
import json
import socket


def probe(target, timeout, source_port=None, send=None):
    host, port = target.rsplit(":", 1)
    host = host.strip("[]")
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    sock.settimeout(timeout)
    try:
        if source_port is not None:
            # The port may still be in TIME_WAIT from an earlier run.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(("", source_port))
        sock.connect((host, int(port)))
        if send is not None:
            sock.sendall(send.encode())
            try:
                while sock.recv(4096):
                    pass
            except ConnectionResetError:
                pass
        return "open"
    except socket.timeout:
        return "timeout"
    except OSError:
        return "refused"
    finally:
        sock.close()


def port_range(text):
    bounds = text.split("-", 1)
    return range(int(bounds[0]), int(bounds[-1]) + 1)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("targets", nargs="+")
    parser.add_argument("--timeout", type=float, default=1.0)
    parser.add_argument("--source-ports", type=port_range, default=None,
                        help="LOW-HIGH: connect from each of these client ports in turn")
    parser.add_argument("--send", default=None, help="text to send once connected; then wait for the end")
    args = parser.parse_args()
    if args.source_ports is None:
        result = dict((t, probe(t, args.timeout, send=args.send)) for t in args.targets)
    else:
        result = dict((t, dict((str(p), probe(t, args.timeout, p, args.send)) for p in args.source_ports))
                      for t in args.targets)
    print(json.dumps(result, sort_keys=True))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
