"""A real AMQP 0-9-1 client for the lab, the tests and the benchmarks (pika).

Every command prints one JSON object on stdout.

    amqp_client.py roundtrip --host VIP          one message there and back (with
        --port 5671 --tls-ca CA over TLS, the server's certificate verified; the
        report names its subject)
    amqp_client.py publish --count 1000 --queue Q   persistent, publisher confirms
    amqp_client.py consume --count 1000 --queue Q   get and ack them all
    amqp_client.py probe --seconds 20 --interval 0.02   publish with confirms on a timer,
        reconnecting on failure (a nack or an unroutable return counts as a failure);
        reports the longest gap, the reconnects, and the confirmed messages that were
        not in the queue when read back at the end (lost); with --consumer a consumer
        reads the queue through the VIP meanwhile (reconnecting too), and lost counts
        what neither it nor the read-back found
    amqp_client.py hold --connections 100 --seconds 30 [--every 1]   long-lived
        connections, each one publishing every --every seconds; reports how many
        stayed open and working
    amqp_client.py churn --seconds 60 [--stop-file F]   new connections one after
        another (open, publish with a confirm, close); reports the failed ones

Credentials come from --user/--password or AMQP_USER/AMQP_PASSWORD.
Queues are durable quorum queues, the collection's documented default;
--queue-type server declares them without x-queue-type, so the broker's
default queue type decides (quorum on RabbitMQ 4.0 as the collection sets it).
"""

import argparse
import json
import os
import ssl
import sys
import threading
import time
import uuid

import pika
import pika.exceptions

PERSISTENT = pika.BasicProperties(delivery_mode=2)


# TCP keepalive after 1 s without a packet from the server, as a client that
# must notice a dead path should have: a publisher waiting for a confirm that a
# load balancer which just died will never send has nothing in flight to
# retransmit, and would otherwise wait for its next heartbeat; the keepalive
# probe reaches the new master, which resets the connection.
TCP_OPTIONS = {"TCP_KEEPIDLE": 1, "TCP_KEEPINTVL": 1, "TCP_KEEPCNT": 3}


def params(args, attempts=1):
    tls = None
    if args.tls_ca:
        # TLS to the broker, through the VIP: its certificate must chain to the CA
        # and name the address (or name) connected to.
        context = ssl.create_default_context(cafile=args.tls_ca)
        tls = pika.SSLOptions(context, server_hostname=args.host)
    return pika.ConnectionParameters(
        host=args.host, port=args.port, virtual_host="/",
        credentials=pika.PlainCredentials(args.user, args.password),
        heartbeat=args.heartbeat, blocked_connection_timeout=30, tcp_options=TCP_OPTIONS,
        socket_timeout=5, stack_timeout=5, connection_attempts=attempts, retry_delay=0.2,
        ssl_options=tls)


def peer_certificate(conn):
    """The subject of the certificate the server showed (TLS connections), as
    ``{"commonName": ...}``, or None."""
    sock = getattr(getattr(conn._impl, "_transport", None), "_sock", None)
    if not isinstance(sock, ssl.SSLSocket):
        return None
    cert = sock.getpeercert() or {}
    return dict(item[0] for item in cert.get("subject", ()))


def queue_args(args):
    return {} if args.queue_type == "server" else {"x-queue-type": args.queue_type}


def open_channel(args, queue, attempts=1):
    conn = pika.BlockingConnection(params(args, attempts))
    ch = conn.channel()
    ch.confirm_delivery()
    if queue:
        ch.queue_declare(queue=queue, durable=True, arguments=queue_args(args))
    return conn, ch


def out(**result):
    print(json.dumps(result, sort_keys=True))
    sys.stdout.flush()


def cmd_roundtrip(args):
    queue = args.queue or "lbstack.roundtrip"
    started = time.monotonic()
    conn, ch = open_channel(args, queue)
    ch.queue_purge(queue)
    body = ("lbstack round trip %s" % uuid.uuid4()).encode()
    ch.basic_publish("", queue, body, PERSISTENT, mandatory=True)
    got = None
    deadline = time.monotonic() + 10
    while got is None and time.monotonic() < deadline:
        got = ch.basic_get(queue, auto_ack=True)[2]
        if got is None:
            time.sleep(0.05)
    server = conn._impl.server_properties or {}
    certificate = peer_certificate(conn)
    conn.close()
    ok = got == body
    out(ok=ok, host=args.host, port=args.port, queue=queue, message=body.decode(), tls_subject=certificate,
        received=got.decode() if got else None,
        cluster_name=(server.get("cluster_name") or b"").decode() if isinstance(
            server.get("cluster_name"), bytes) else server.get("cluster_name"),
        version=(server.get("version") or b"").decode() if isinstance(
            server.get("version"), bytes) else server.get("version"),
        milliseconds=round((time.monotonic() - started) * 1000, 1))
    return 0 if ok else 1


def cmd_publish(args):
    conn, ch = open_channel(args, args.queue)
    if args.purge:
        ch.queue_purge(args.queue)
    started = time.monotonic()
    for i in range(args.count):
        ch.basic_publish("", args.queue, ("%d" % i).encode(), PERSISTENT, mandatory=True)
    seconds = time.monotonic() - started
    node = (conn._impl.server_properties or {}).get("cluster_name")
    if args.delete:
        ch.queue_delete(args.queue)
    conn.close()
    out(published=args.count, confirmed=args.count, seconds=round(seconds, 3),
        rate=round(args.count / seconds, 1), host=args.host,
        node=node.decode() if isinstance(node, bytes) else node)
    return 0


def cmd_consume(args):
    conn, ch = open_channel(args, args.queue)
    seen = set()
    started = time.monotonic()
    deadline = started + args.timeout
    while len(seen) < args.count and time.monotonic() < deadline:
        method, _props, body = ch.basic_get(args.queue, auto_ack=False)
        if method is None:
            time.sleep(0.05)
            continue
        seen.add(body)
        ch.basic_ack(method.delivery_tag)
    left = ch.queue_declare(queue=args.queue, durable=True, arguments=queue_args(args),
                            passive=True).method.message_count
    conn.close()
    expected = set(("%d" % i).encode() for i in range(args.count))
    ok = seen == expected
    out(ok=ok, consumed=len(seen), missing=len(expected - seen), left_in_queue=left,
        seconds=round(time.monotonic() - started, 3))
    return 0 if ok else 1


class Consumer(threading.Thread):
    """Consume ``queue`` through the VIP until stopped, reconnecting on failure;
    records every body it acked (a sequence number) and its reconnects."""

    def __init__(self, args, queue):
        threading.Thread.__init__(self, daemon=True)
        self.args, self.queue = args, queue
        self.bodies, self.connects, self.failures = [], 0, 0
        self.stop = threading.Event()

    def on_message(self, channel, method, _props, body):
        self.bodies.append(int(body))
        channel.basic_ack(method.delivery_tag)

    def run(self):
        while not self.stop.is_set():
            conn = None
            try:
                conn, ch = open_channel(self.args, self.queue)
                self.connects += 1
                ch.basic_qos(prefetch_count=50)
                ch.basic_consume(self.queue, self.on_message)
                while not self.stop.is_set():
                    conn.process_data_events(time_limit=0.2)
                conn.close()
            except (pika.exceptions.AMQPError, OSError):
                self.failures += 1
                close_quietly(conn)
                self.stop.wait(0.2)


def stop_requested(args, first=False):
    """Whether --stop-file exists; at the start (first) an old one is removed."""
    if not args.stop_file or not os.path.exists(args.stop_file):
        return False
    if first:
        os.unlink(args.stop_file)
        return False
    return True


def close_quietly(conn):
    """Close a connection that may already be broken or closed."""
    try:
        if conn is not None and conn.is_open:
            conn.close()
    except Exception:  # pylint: disable=broad-except
        pass


def wait_no_consumers(ch, queue, events, start, timeout):
    """Wait (up to ``timeout`` seconds) until ``queue`` has no consumer.

    A consumer whose client is gone but whose connection the broker still
    believes open (its path ran through a balancer that died or lost the VIP)
    keeps the messages delivered to it unacknowledged, out of the queue's
    reach, until the broker closes that connection (missed heartbeats); they
    then go back to the queue. Reading the queue before that would count them
    as lost. Returns the seconds waited."""
    began = time.monotonic()
    while True:
        consumers = ch.queue_declare(queue=queue, passive=True).method.consumer_count
        waited = round(time.monotonic() - began, 1)
        if consumers == 0 or waited >= timeout:
            break
        time.sleep(1)
    if waited:
        events.append([round(time.monotonic() - start, 3),
                       "read back waited %.1f s for the queue's consumers to go (%d left)" % (waited, consumers)])
    return waited


def read_back(args, queue, events, start, attempts=6):
    """The sequence numbers in the queue, emptying it (None if it cannot be
    read), and the seconds waited for its consumers to go.

    Messages are taken unacknowledged and acknowledged together at the end, so
    a read that breaks (a broker or the queue's leader restarting at that
    moment) returns them to the queue and the next attempt reads them all again.
    The read starts once the queue has no consumers (wait_no_consumers).
    """
    for attempt in range(attempts):
        conn = None
        try:
            conn, ch = open_channel(args, queue, attempts=5)
            waited = wait_no_consumers(ch, queue, events, start, args.consumer_wait)
            found, last = set(), None
            while True:
                method, _props, body = ch.basic_get(queue, auto_ack=False)
                if method is None:
                    break
                found.add(int(body))
                last = method.delivery_tag
            if last is not None:
                ch.basic_ack(delivery_tag=last, multiple=True)
            conn.close()
            return found, waited
        except (pika.exceptions.AMQPError, OSError) as exc:
            last_try = attempt + 1 == attempts
            events.append([round(time.monotonic() - start, 3),
                           "read back %s: %r" % ("failed" if last_try else "retried", exc)])
            close_quietly(conn)
            if not last_try:
                time.sleep(5)
    return None, None


def cmd_probe(args):
    """Publish with confirms every --interval seconds for --seconds (or until
    --stop-file exists), reconnecting on failure."""
    queue = args.queue or "lbstack.probe"
    consumer = None
    conn = ch = None
    connects = 0
    failures = 0
    last_ok = None
    gaps = []
    sent = 0
    confirmed = set()
    since_connect = 0
    events = []
    start = time.monotonic()
    end = start + args.seconds
    stop_requested(args, first=True)
    while time.monotonic() < end:
        tick = time.monotonic()
        if stop_requested(args):
            break
        try:
            if ch is None:
                conn, ch = open_channel(args, queue)
                connects += 1
                if connects == 1:
                    ch.queue_purge(queue)
                    if args.consumer:
                        consumer = Consumer(args, queue)
                        consumer.start()
                events.append([round(time.monotonic() - start, 3), "connected"])
                since_connect = 0
            sent += 1
            # The body is the sequence number, so that the check at the end can
            # find every confirmed message that went missing.
            ch.basic_publish("", queue, str(sent).encode(), mandatory=True,
                             properties=pika.BasicProperties(delivery_mode=2))
            confirmed.add(sent)
            since_connect += 1
            now = time.monotonic()
            if last_ok is not None and now - last_ok > 3 * args.interval + 0.05:
                gaps.append(round(now - last_ok, 3))
            last_ok = now
        except (pika.exceptions.AMQPError, OSError) as exc:
            failures += 1
            events.append([round(time.monotonic() - start, 3), "failed: %r" % (exc,)])
            close_quietly(conn)
            conn = ch = None
        delay = args.interval - (time.monotonic() - tick)
        if delay > 0:
            time.sleep(delay)
    consumed = []
    if consumer is not None:
        # what is still on its way to the consumer, then stop it
        time.sleep(2)
        consumer.stop.set()
        consumer.join(10)
        consumed = list(consumer.bodies)
    # Read every message back (a fresh connection): a confirmed sequence number
    # that the consumer did not get and that is not in the queue is a lost message.
    close_quietly(conn)
    found, waited = read_back(args, queue, events, start)
    if found is not None:
        found |= set(consumed)
    extra = {}
    if consumer is not None:
        extra = dict(consumed=len(consumed), duplicates=len(consumed) - len(set(consumed)),
                     consumer_reconnects=max(consumer.connects - 1, 0), consumer_failures=consumer.failures)
    out(sent=sent, confirmed=len(confirmed), confirmed_last_connection=since_connect, connects=connects, reconnects=max(connects - 1, 0),
        failures=failures, lost=len(confirmed - found) if found is not None else None, consumer_wait=waited,
        gaps=gaps, longest_gap=max(gaps) if gaps else 0.0, interval=args.interval, events=events,
        seconds=round(time.monotonic() - start, 1), host=args.host, **extra)
    return 0


def cmd_hold(args):
    """Open N connections, use each one every second for --seconds (or until
    --stop-file exists); count the survivors."""
    # Without --queue each hold publishes to a queue of its own, deleted at the
    # end: another hold that ends first must not delete the queue this one uses.
    queue = args.queue or "lbstack.hold.%d" % os.getpid()
    stop_requested(args, first=True)
    if args.ready_file and os.path.exists(args.ready_file):
        os.remove(args.ready_file)  # left by an earlier hold
    raise_open_files(args.connections + 64)
    start = time.monotonic()
    chans = []
    # An open that fails is tried again (--open-attempts, a second apart) and
    # counted: what a hold measures is whether open connections survive.
    open_retries = 0
    for _index in range(args.connections):
        for attempt in range(1, args.open_attempts + 1):
            try:
                chans.append(open_channel(args, queue))
                break
            except (pika.exceptions.AMQPError, OSError):
                if attempt == args.open_attempts:
                    raise
                open_retries += 1
                time.sleep(1)
    if args.ready_file:
        with open(args.ready_file, "w", encoding="utf-8") as handle:
            handle.write("%d\n" % len(chans))
    broken = set()
    end = time.monotonic() + args.seconds
    # Each connection's turn comes every --every seconds; the turns are spread
    # over the period, so the load is steady rather than one burst.
    step = args.every / float(len(chans))
    turn = time.monotonic()
    while time.monotonic() < end and not stop_requested(args):
        for index, (conn, ch) in enumerate(chans):
            if index in broken:
                continue
            try:
                ch.basic_publish("", queue, b"h", mandatory=True)
                conn.process_data_events(0)
            except (pika.exceptions.AMQPError, OSError):
                broken.add(index)
            turn += step
            delay = turn - time.monotonic()
            if delay > 0:
                time.sleep(delay)
    for index, (conn, ch) in enumerate(chans):
        if index not in broken:
            try:
                conn.close()
            except Exception:
                broken.add(index)
    survivors = args.connections - len(broken)
    if not args.queue:
        delete_queue(args, queue)
    out(connections=args.connections, survived=survivors, open_retries=open_retries,
        share=round(survivors / float(args.connections), 4), seconds=round(time.monotonic() - start, 1))
    return 0


def delete_queue(args, queue):
    """Delete a queue this command made for itself, on a fresh connection (best effort)."""
    try:
        conn, ch = open_channel(args, None)
        ch.queue_delete(queue)
        conn.close()
    except (pika.exceptions.AMQPError, OSError):
        pass


def raise_open_files(wanted):
    """A process holding many connections needs a descriptor each."""
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(wanted, hard), hard))


def cmd_churn(args):
    """New connections one after another until --seconds or --stop-file: each
    opens, publishes one message with a confirm and closes."""
    queue = args.queue or "lbstack.churn"
    stop_requested(args, first=True)
    start = time.monotonic()
    end = start + args.seconds
    made = failed = 0
    errors = []
    while time.monotonic() < end and not stop_requested(args):
        made += 1
        try:
            conn, ch = open_channel(args, queue)
            ch.basic_publish("", queue, b"c", mandatory=True)
            conn.close()
        except (pika.exceptions.AMQPError, OSError) as exc:
            failed += 1
            if len(errors) < 10:
                errors.append([round(time.monotonic() - start, 3), repr(exc)])
    delete_queue(args, queue)
    out(connections=made, failed=failed, errors=errors, seconds=round(time.monotonic() - start, 1))
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("roundtrip", "publish", "consume", "probe", "hold", "churn"):
        p = sub.add_parser(name)
        p.add_argument("--host", default="198.18.0.100")
        p.add_argument("--port", type=int, default=5672)
        p.add_argument("--tls-ca", default=None,
                       help="TLS (AMQPS): verify the server's certificate with this CA file and --host")
        p.add_argument("--user", default=os.environ.get("AMQP_USER", "lbstack"))
        p.add_argument("--password", default=os.environ.get("AMQP_PASSWORD", ""))
        p.add_argument("--heartbeat", type=int, default=30)
        p.add_argument("--queue", default=None)
        p.add_argument("--queue-type", default="quorum", choices=["quorum", "classic", "server"],
                       help="x-queue-type of the queues declared; server: none, the broker's default")
        p.add_argument("--count", type=int, default=1000)
        p.add_argument("--timeout", type=float, default=60)
        p.add_argument("--purge", action="store_true")
        p.add_argument("--delete", action="store_true", help="publish: delete the queue afterwards")
        p.add_argument("--seconds", type=float, default=20)
        p.add_argument("--interval", type=float, default=0.02)
        p.add_argument("--stop-file", default=None,
                       help="probe, hold, churn: stop early once this file exists (removed at the start)")
        p.add_argument("--consumer", action="store_true",
                       help="probe: a consumer reads the queue through the VIP meanwhile")
        p.add_argument("--consumer-wait", type=float, default=180,
                       help="probe: at most this many seconds to wait, before reading the queue back, for "
                            "consumers left by a dead path to be closed by the broker")
        p.add_argument("--connections", type=int, default=100)
        p.add_argument("--every", type=float, default=1.0, help="hold: seconds between two uses of a connection")
        p.add_argument("--ready-file", default=None, help="hold: written once every connection is open")
        p.add_argument("--open-attempts", type=int, default=1,
                       help="hold: tries to open each connection, a second apart (the retries are reported)")
    args = parser.parse_args()
    if args.command in ("publish", "consume") and not args.queue:
        parser.error("--queue is required")
    return globals()["cmd_" + args.command](args)


if __name__ == "__main__":
    sys.exit(main())
