"""Which TCP ports answer, from the host this runs on (the lab's firewall checks).

    reach.py 198.18.0.21:25672 [2001:db8:18::21]:25672 ...

Prints one JSON object, each target -> open (connected), refused (a reset: no
listener, or a reject) or timeout (no answer within --timeout: dropped).
"""

import argparse
import json
import socket


def probe(target, timeout):
    host, port = target.rsplit(":", 1)
    host = host.strip("[]")
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    sock.settimeout(timeout)
    try:
        sock.connect((host, int(port)))
        return "open"
    except socket.timeout:
        return "timeout"
    except OSError:
        return "refused"
    finally:
        sock.close()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("targets", nargs="+")
    parser.add_argument("--timeout", type=float, default=1.0)
    args = parser.parse_args()
    print(json.dumps(dict((t, probe(t, args.timeout)) for t in args.targets), sort_keys=True))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
