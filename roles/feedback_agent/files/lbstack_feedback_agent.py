# Copyright: (c) 2026, lbstack.rabbitmq contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""lbstack feedback agent: tells the load balancers how idle this real server is.

The role installs this file and a wrapper command, lbstack-feedback-agent
(python3 this-file "$@"):

    lbstack-feedback-agent serve  [--config FILE]   answer pollers (systemd runs this)
    lbstack-feedback-agent status [--config FILE]   print what a poller would get now
    lbstack-feedback-agent check  [--config FILE]   exit 0 when the settings can work
    lbstack-feedback-agent drain | halt | online [--config FILE]
                                                    the local admin state, kept across
                                                    restarts and reboots in state_file

Python 3.9+, standard library only. The settings file is JSON (the role renders it).

Idle (0-100) is computed like the appliance agent: each monitor (cpu, memory,
connections to the service port, custom scripts) measures a utilization 0-100
and has an importance factor and a threshold. A monitor at or above its
threshold makes the server busy (idle 0); otherwise idle is 100 minus the
importance-weighted mean utilization. All measuring happens in a background
thread; a poll only formats the last result.

Replies (``agent`` method, HAProxy's agent-check grammar, one line):
    "NN% up"         online: the balancer scales the configured weight by NN/100
    "0% up"          drained (local drain, RabbitMQ maintenance mode or an alarm):
                     no new connections, established ones stay
    "0% down #why"   halted, or the broker is not running: out of rotation
"up" and "down" are operational states: HAProxy keeps a server the agent
called down out until the agent says up (and its health check passes), so
every reply that is not "down" carries "up". The agent never sends HAProxy's
admin-state words (ready, drain, maint): HAProxy shares the admin state between
the agent and its runtime API, so an agent "ready" would undo a drain an
operator set on the balancer. Draining through a 0 % weight and halting
through the operational state leave the admin state to the operator.
``http`` method: "HTTP/1.0 200" with the idle integer as the body, or 503 with
"0" when halted or the broker is down.
"""

import argparse
import asyncio
import ipaddress
import json
import os
import socket
import subprocess
import sys
import threading
import time

DEFAULTS = {
    "method": "agent",             # agent | http
    "bind": "::",                  # address to listen on ("::" also takes IPv4)
    "port": 3333,
    "allowed_sources": [],         # networks that may poll (and loopback); empty: any
    "service_port": 5672,          # connections monitor: local TCP port
    "state_file": "/var/lib/lbstack-feedback-agent/state",
    "interval": 0.5,               # seconds between samples
    "cgroup": "auto",              # auto | none | a cgroup v2 directory
    "monitors": {
        "cpu": {"importance": 1.0, "threshold": 100},
        "memory": {"importance": 0.0, "threshold": 100},
        "connections": {"importance": 0.0, "threshold": 100, "max_connections": 1000},
    },
    "scripts": [],                 # [{"command": [...], "importance": 1, "threshold": 100, "timeout": 2}]
    # The broker's state, read at most every refresh seconds: whether its AMQP
    # listener (service_port) accepts, whether the Erlang node is registered in
    # epmd, and its alarms from the rabbitmq_prometheus endpoint (0: not read).
    "rabbitmq": {"enabled": False, "refresh": 5, "node": "rabbit", "epmd_port": 4369,
                 "prometheus_port": 15692, "timeout": 1.0},
}
ADMIN_STATES = ("online", "drain", "halt")
REQUEST_TIMEOUT = 2.0              # seconds an HTTP poller may take to send its request
MAX_REQUEST = 4096


class SettingsError(ValueError):
    """A setting that cannot work; the message names it."""


def _number(name, value, low, high):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
        raise SettingsError("%s: %r is not a number from %s to %s" % (name, value, low, high))
    return value


def load_settings(text):
    """Settings from the JSON text of the settings file, with the defaults filled in."""
    try:
        raw = json.loads(text) if text.strip() else {}
    except ValueError as err:
        raise SettingsError("settings: not JSON (%s)" % err)
    if not isinstance(raw, dict):
        raise SettingsError("settings: must be a JSON object")
    unknown = sorted(set(raw) - set(DEFAULTS))
    if unknown:
        raise SettingsError("%s: unknown setting" % unknown[0])
    settings = json.loads(json.dumps(DEFAULTS))
    for key, value in raw.items():
        if key == "monitors":
            if not isinstance(value, dict) or set(value) - set(DEFAULTS["monitors"]):
                raise SettingsError("monitors: only %s" % ", ".join(sorted(DEFAULTS["monitors"])))
            for name, conf in value.items():
                if not isinstance(conf, dict) or set(conf) - set(DEFAULTS["monitors"][name]):
                    raise SettingsError("monitors.%s: only %s" % (name, ", ".join(sorted(DEFAULTS["monitors"][name]))))
                settings["monitors"][name].update(conf)
        elif key == "rabbitmq":
            if not isinstance(value, dict) or set(value) - set(DEFAULTS["rabbitmq"]):
                raise SettingsError("rabbitmq: only %s" % ", ".join(sorted(DEFAULTS["rabbitmq"])))
            settings["rabbitmq"].update(value)
        else:
            settings[key] = value
    if settings["method"] not in ("agent", "http"):
        raise SettingsError("method: %r is not agent or http" % settings["method"])
    _number("port", settings["port"], 1, 65535)
    _number("service_port", settings["service_port"], 1, 65535)
    _number("interval", settings["interval"], 0.1, 60)
    try:
        ipaddress.ip_address(settings["bind"])
    except ValueError:
        raise SettingsError("bind: %r is not an IP address" % settings["bind"])
    try:
        settings["allowed_sources"] = [ipaddress.ip_network(net, strict=False)
                                       for net in settings["allowed_sources"]]
    except (TypeError, ValueError) as err:
        raise SettingsError("allowed_sources: %s" % err)
    for name, conf in settings["monitors"].items():
        _number("monitors.%s.importance" % name, conf["importance"], 0, 100)
        _number("monitors.%s.threshold" % name, conf["threshold"], 1, 100)
    _number("monitors.connections.max_connections", settings["monitors"]["connections"]["max_connections"], 1, 10 ** 7)
    for index, script in enumerate(settings["scripts"]):
        where = "scripts[%d]" % index
        if not isinstance(script, dict) or not isinstance(script.get("command"), list) or not script["command"]:
            raise SettingsError("%s.command: a non-empty list (program and arguments)" % where)
        script.setdefault("importance", 1.0)
        script.setdefault("threshold", 100)
        script.setdefault("timeout", 2)
        _number(where + ".importance", script["importance"], 0, 100)
        _number(where + ".threshold", script["threshold"], 1, 100)
        _number(where + ".timeout", script["timeout"], 0.1, 30)
    _number("rabbitmq.refresh", settings["rabbitmq"]["refresh"], 5, 600)
    _number("rabbitmq.epmd_port", settings["rabbitmq"]["epmd_port"], 1, 65535)
    _number("rabbitmq.prometheus_port", settings["rabbitmq"]["prometheus_port"], 0, 65535)
    _number("rabbitmq.timeout", settings["rabbitmq"]["timeout"], 0.1, 5)
    if not isinstance(settings["rabbitmq"]["node"], str) or not settings["rabbitmq"]["node"].isidentifier():
        raise SettingsError("rabbitmq.node: %r is not an Erlang node name (the part before @)"
                            % (settings["rabbitmq"]["node"],))
    return settings


# ---------------------------------------------------------------- idle
def idle_value(utilizations, weights):
    """Idle 0-100 from {monitor: utilization 0-100 or None} and {monitor: (importance, threshold)}.

    A monitor without a reading (None) or without importance is left out; one at
    or above its threshold makes the server busy (0)."""
    total = weighted = 0.0
    for name, utilization in utilizations.items():
        importance, threshold = weights[name]
        if utilization is None or importance <= 0:
            continue
        utilization = min(max(float(utilization), 0.0), 100.0)
        if utilization >= threshold:
            return 0
        total += importance
        weighted += importance * utilization
    if total == 0:
        return 100
    return int(round(100 - weighted / total))


def answer(idle, admin, broker):
    """(weight 0-100, why the server is down or None) for an idle value, the
    local admin state and the broker's state (running | drain | down | unknown):
    the one decision both reply formats express."""
    if admin == "halt":
        return 0, "halted on the real server"
    if broker == "down":
        return 0, "rabbitmq is not running"
    if "drain" in (admin, broker):
        return 0, None
    return max(0, min(100, int(idle))), None


def agent_reply(idle, admin, broker):
    """The agent-check line: "NN% up", or "0% down #why" when out of rotation."""
    weight, down = answer(idle, admin, broker)
    return "%d%% %s\n" % (weight, "down #" + down if down else "up")


def http_reply(idle, admin, broker):
    """(status, body) of the HTTP method: 503 when out of rotation."""
    weight, down = answer(idle, admin, broker)
    return (503 if down else 200), "%d" % weight


def http_response(status, body):
    reason = {200: "OK", 400: "Bad Request", 503: "Service Unavailable"}[status]
    return ("HTTP/1.0 %d %s\r\nContent-Type: text/plain\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s"
            % (status, reason, len(body), body)).encode()


# ---------------------------------------------------------------- the broker
def epmd_names(data):
    """Node names registered in epmd, from its NAMES reply (4-byte port, then
    "name <node> at port <n>" lines)."""
    return [line.split()[1] for line in data[4:].decode("ascii", "replace").splitlines()
            if line.startswith("name ") and len(line.split()) > 1]


def prometheus_alarms(text):
    """Names of the alarms in force, from rabbitmq_prometheus' /metrics text."""
    alarms = []
    for line in text.splitlines():
        if line.startswith("rabbitmq_alarms_"):
            name, _sep, value = line.rpartition(" ")
            try:
                if float(value) > 0:
                    alarms.append(name[len("rabbitmq_alarms_"):])
            except ValueError:
                continue
    return alarms


def broker_verdict(listening, registered, alarms):
    """running | drain | down. A listener that accepts serves (drain while an
    alarm blocks publishers); a node registered in epmd whose listener refuses
    is in maintenance mode (or still booting): drain; no node: down."""
    if listening:
        return "drain" if alarms else "running"
    return "drain" if registered else "down"


def probe_broker(conf, service_port):
    """(verdict, detail) of the local broker; a few milliseconds, no rabbitmqctl."""
    timeout = conf["timeout"]
    try:
        socket.create_connection(("127.0.0.1", service_port), timeout).close()
        listening = True
    except OSError:
        listening = False
    registered = False
    try:
        with socket.create_connection(("127.0.0.1", conf["epmd_port"]), timeout) as sock:
            sock.sendall(b"\x00\x01n")
            data = b""
            while len(data) < 65536:
                chunk = sock.recv(4096)
                if not chunk:
                    break
                data += chunk
        registered = conf["node"] in epmd_names(data)
    except OSError:
        pass
    alarms = []
    if listening and conf["prometheus_port"]:
        try:
            with socket.create_connection(("127.0.0.1", conf["prometheus_port"]), timeout) as sock:
                sock.settimeout(timeout)
                sock.sendall(b"GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
                data = b""
                while len(data) < 16 * 1024 * 1024:
                    chunk = sock.recv(65536)
                    if not chunk:
                        break
                    data += chunk
            alarms = prometheus_alarms(data.partition(b"\r\n\r\n")[2].decode("utf-8", "replace"))
        except OSError:
            pass
    detail = {"listening": listening, "registered": registered, "alarms": alarms}
    return broker_verdict(listening, registered, alarms), detail


# ---------------------------------------------------------------- admin state
def read_admin(path):
    """The persisted local admin state; online when there is none (or it is unreadable)."""
    try:
        with open(path) as handle:
            value = handle.read().strip()
    except OSError:
        return "online"
    return value if value in ADMIN_STATES else "online"


def write_admin(path, value):
    """Persist the local admin state atomically (survives restarts and reboots)."""
    if value not in ADMIN_STATES:
        raise SettingsError("admin state: %r is not one of %s" % (value, ", ".join(ADMIN_STATES)))
    directory = os.path.dirname(path) or "."
    tmp = os.path.join(directory, ".%s.tmp" % os.path.basename(path))
    with open(tmp, "w") as handle:
        handle.write(value + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


# ---------------------------------------------------------------- measuring
class Cgroup(object):
    """CPU and memory of one cgroup: v2 (one directory: cpu.stat, cpu.max,
    memory.current, memory.max) or v1 (cpu.cfs_quota_us in the cpu
    controller's directory, cpuacct.usage in the cpuacct controller's -- the
    same directory where they are mounted together as cpu,cpuacct, two where
    they are mounted apart, as in the lab's containers -- and
    memory.usage_in_bytes and memory.limit_in_bytes in the memory
    controller's)."""

    # v1 reports "no memory limit" as a huge page-aligned number.
    V1_UNLIMITED = 1 << 60

    def __init__(self, version, cpu_dir, memory_dir, cpuacct_dir=None):
        self.version, self.cpu_dir, self.memory_dir = version, cpu_dir, memory_dir
        self.cpuacct_dir = cpuacct_dir or cpu_dir

    def usage_seconds(self):
        if self.version == 2:
            return parse_cpu_stat(read(os.path.join(self.cpu_dir, "cpu.stat"))) / 1e6
        return int(read(os.path.join(self.cpuacct_dir, "cpuacct.usage"))) / 1e9

    def cpus(self, online):
        if self.version == 2:
            return parse_cpu_max(read(os.path.join(self.cpu_dir, "cpu.max")), online)
        quota = int(read(os.path.join(self.cpu_dir, "cpu.cfs_quota_us")))
        period = int(read(os.path.join(self.cpu_dir, "cpu.cfs_period_us")))
        return float(online) if quota <= 0 else quota / float(period)

    def memory_limit(self):
        """Bytes, or None when unlimited."""
        if self.version == 2:
            text = read(os.path.join(self.memory_dir, "memory.max")).strip()
            return None if text == "max" else int(text)
        limit = int(read(os.path.join(self.memory_dir, "memory.limit_in_bytes")))
        return None if limit >= self.V1_UNLIMITED else limit

    def memory_current(self):
        name = "memory.current" if self.version == 2 else "memory.usage_in_bytes"
        return int(read(os.path.join(self.memory_dir, name)))

    def limited(self, online):
        try:
            return self.cpus(online) < online or self.memory_limit() is not None
        except (OSError, ValueError):
            return False


def cgroup_dir(setting, root="/sys/fs/cgroup"):
    """The cgroup to read CPU and memory from, or None for /proc.

    ``auto``: the cgroup this process sees at ``root`` (v2, or v1's cpu and
    memory controllers), when it carries a CPU or memory limit (a container,
    such as the lab's brokers); a path: that cgroup v2 directory (for example
    /sys/fs/cgroup/system.slice/rabbitmq-server.service); ``none``: /proc."""
    if setting == "none":
        return None
    online = os.cpu_count() or 1
    if setting != "auto":
        for name in ("cpu.stat", "cpu.max", "memory.max", "memory.current"):
            if not os.path.exists(os.path.join(setting, name)):
                raise SettingsError("cgroup: %s has no %s (a cgroup v2 directory is needed)" % (setting, name))
        return Cgroup(2, setting, setting)
    if os.path.exists(os.path.join(root, "cpu.stat")):
        group = Cgroup(2, root, root)
    else:
        def controller(names, probe):
            return next((os.path.join(root, d) for d in names if os.path.exists(os.path.join(root, d, probe))), None)
        acct = controller(("cpu,cpuacct", "cpuacct,cpu", "cpuacct"), "cpuacct.usage")
        cpu = controller(("cpu,cpuacct", "cpuacct,cpu", "cpu"), "cpu.cfs_quota_us")
        if acct is None or cpu is None or not os.path.exists(os.path.join(root, "memory", "memory.usage_in_bytes")):
            return None
        group = Cgroup(1, cpu, os.path.join(root, "memory"), acct)
    return group if group.limited(online) else None


def parse_cpu_stat(text):
    """usage_usec of a cgroup's cpu.stat."""
    for line in text.splitlines():
        key, _sep, value = line.partition(" ")
        if key == "usage_usec":
            return int(value)
    raise ValueError("cpu.stat has no usage_usec")


def parse_cpu_max(text, online_cpus):
    """CPUs a cgroup may use: quota/period of cpu.max, or every online CPU for "max"."""
    quota, _sep, period = text.strip().partition(" ")
    if quota == "max":
        return float(online_cpus)
    return int(quota) / float(period or 100000)


def parse_proc_stat(text):
    """(busy, total) jiffies of the first line of /proc/stat."""
    fields = [int(v) for v in text.splitlines()[0].split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return sum(fields) - idle, sum(fields)


def parse_meminfo(text):
    """Memory utilization 0-100 from /proc/meminfo (MemAvailable of MemTotal)."""
    values = {}
    for line in text.splitlines():
        key, _sep, rest = line.partition(":")
        values[key] = int(rest.split()[0]) if rest.split() else 0
    return 100.0 * (1 - values["MemAvailable"] / float(values["MemTotal"]))


def count_connections(texts, port):
    """ESTABLISHED TCP connections whose local port is ``port``, from /proc/net/tcp and tcp6."""
    count = 0
    for text in texts:
        for line in text.splitlines()[1:]:
            fields = line.split()
            if len(fields) > 3 and fields[3] == "01" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                count += 1
    return count


def read(path):
    with open(path) as handle:
        return handle.read()


class Sampler(object):
    """Measures in the background; ``snapshot()`` returns the last result at once."""

    def __init__(self, settings, now=time.monotonic):
        self.settings = settings
        self.now = now
        self.cgroup = cgroup_dir(settings["cgroup"])
        self.lock = threading.Lock()
        self.last_cpu = None
        self.utilizations = {}
        self.idle = 100
        self.broker = "unknown" if settings["rabbitmq"]["enabled"] else "running"
        self.broker_checked = None
        self.broker_detail = None

    def cpu(self):
        """CPU utilization 0-100 since the previous sample (None on the first)."""
        stamp = self.now()
        if self.cgroup:
            usage = self.cgroup.usage_seconds()
            cpus = self.cgroup.cpus(os.cpu_count() or 1)
            sample = (stamp, usage, cpus)
            previous, self.last_cpu = self.last_cpu, sample
            if previous is None or stamp <= previous[0]:
                return None
            return 100.0 * (usage - previous[1]) / ((stamp - previous[0]) * cpus)
        busy, total = parse_proc_stat(read("/proc/stat"))
        previous, self.last_cpu = self.last_cpu, (busy, total)
        if previous is None or total <= previous[1]:
            return None
        return 100.0 * (busy - previous[0]) / (total - previous[1])

    def memory(self):
        if self.cgroup:
            limit = self.cgroup.memory_limit()
            if limit:
                return 100.0 * self.cgroup.memory_current() / limit
        return parse_meminfo(read("/proc/meminfo"))

    def connections(self):
        texts = []
        for path in ("/proc/net/tcp", "/proc/net/tcp6"):
            try:
                texts.append(read(path))
            except OSError:
                pass
        conf = self.settings["monitors"]["connections"]
        return 100.0 * count_connections(texts, self.settings["service_port"]) / conf["max_connections"]

    def script(self, conf):
        """Utilization a custom monitor prints (a number 0-100); None when it fails."""
        try:
            out = subprocess.run(conf["command"], capture_output=True, text=True, timeout=conf["timeout"],
                                 check=False)
            return float(out.stdout.split()[0]) if out.returncode == 0 and out.stdout.split() else None
        except (OSError, ValueError, subprocess.TimeoutExpired):
            return None

    def broker_state(self):
        """running | drain | down (probe_broker), refreshed at most every
        rabbitmq.refresh seconds, never per poll."""
        conf = self.settings["rabbitmq"]
        stamp = self.now()
        if not conf["enabled"]:
            return "running"
        if self.broker_checked is not None and stamp - self.broker_checked < conf["refresh"]:
            return self.broker
        self.broker_checked = stamp
        verdict, self.broker_detail = probe_broker(conf, self.settings["service_port"])
        return verdict

    def sample(self):
        monitors = self.settings["monitors"]
        utilizations, weights = {}, {}
        for name, measure in (("cpu", self.cpu), ("memory", self.memory), ("connections", self.connections)):
            conf = monitors[name]
            weights[name] = (conf["importance"], conf["threshold"])
            try:
                utilizations[name] = measure() if conf["importance"] > 0 or name == "cpu" else None
            except (OSError, ValueError, ZeroDivisionError):
                utilizations[name] = None
        for index, conf in enumerate(self.settings["scripts"]):
            key = "script%d" % index
            weights[key] = (conf["importance"], conf["threshold"])
            utilizations[key] = self.script(conf)
        idle = idle_value(utilizations, weights)
        broker = self.broker_state()
        with self.lock:
            self.utilizations, self.idle, self.broker = utilizations, idle, broker

    def snapshot(self):
        with self.lock:
            return self.idle, self.broker

    def run_forever(self, stop):
        while not stop.is_set():
            self.sample()
            stop.wait(self.settings["interval"])


# ---------------------------------------------------------------- serving
class Agent(object):
    """The responders. Every connection is handled on the event loop with a
    deadline, so garbage, half-open or slow pollers never hold up the others."""

    def __init__(self, settings, sampler):
        self.settings = settings
        self.sampler = sampler
        self.polls = 0

    def allowed(self, peer):
        sources = self.settings["allowed_sources"]
        if not sources:
            return True
        try:
            address = ipaddress.ip_address(peer.split("%", 1)[0])
        except ValueError:
            return False
        if address.version == 6 and address.ipv4_mapped:
            address = address.ipv4_mapped
        # The host itself may always ask (the guide's telnet 127.0.0.1 3333 check).
        return address.is_loopback or any(address in net for net in sources)

    def current(self):
        idle, broker = self.sampler.snapshot()
        return idle, read_admin(self.settings["state_file"]), broker

    @staticmethod
    async def skip_headers(reader):
        """Read the rest of an HTTP request head (up to the empty line). A socket
        closed with unread bytes sends a reset, which can cost the client the
        reply; a client that sends no more is answered after REQUEST_TIMEOUT."""
        deadline = time.monotonic() + REQUEST_TIMEOUT
        received = 0
        while received < MAX_REQUEST:
            try:
                line = await asyncio.wait_for(reader.readline(), max(0.0, deadline - time.monotonic()))
            except (asyncio.TimeoutError, ValueError):
                return
            received += len(line)
            if line in (b"\r\n", b"\n", b""):
                return

    async def handle(self, reader, writer):
        try:
            peer = writer.get_extra_info("peername") or ("",)
            if not self.allowed(str(peer[0])):
                return
            self.polls += 1
            if self.settings["method"] == "agent":
                # HAProxy may send an agent-send string first; the reply does not depend on it.
                writer.write(agent_reply(*self.current()).encode())
            else:
                try:
                    request = await asyncio.wait_for(reader.readuntil(b"\r\n"), REQUEST_TIMEOUT)
                except (asyncio.TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
                    return
                await self.skip_headers(reader)
                words = request.split()
                if len(words) < 2 or words[0] not in (b"GET", b"HEAD") or not words[-1].startswith(b"HTTP/"):
                    writer.write(http_response(400, "bad request"))
                else:
                    status, body = http_reply(*self.current())
                    writer.write(http_response(status, "" if words[0] == b"HEAD" else body))
            await asyncio.wait_for(writer.drain(), REQUEST_TIMEOUT)
        except (OSError, asyncio.TimeoutError, ConnectionError):
            pass
        finally:
            writer.close()

    async def serve(self, ready=None):
        # asyncio makes an IPv6 socket IPv6-only: "::" (any address) listens on
        # every address of both families instead.
        host = None if self.settings["bind"] == "::" else self.settings["bind"]
        server = await asyncio.start_server(self.handle, host, self.settings["port"],
                                            limit=MAX_REQUEST, backlog=1024, reuse_address=True)
        if ready is not None:
            ready(server)
        async with server:
            await server.serve_forever()


def serve(settings):
    sampler = Sampler(settings)
    sampler.sample()
    stop = threading.Event()
    thread = threading.Thread(target=sampler.run_forever, args=(stop,), daemon=True)
    thread.start()
    try:
        asyncio.run(Agent(settings, sampler).serve())
    finally:
        stop.set()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("command", choices=("serve", "status", "check") + ADMIN_STATES)
    parser.add_argument("--config", default="/etc/lbstack-feedback-agent/agent.json")
    args = parser.parse_args(argv)
    try:
        with open(args.config) as handle:
            settings = load_settings(handle.read())
    except OSError as err:
        parser.exit(2, "lbstack-feedback-agent: %s: %s\n" % (args.config, err.strerror))
    except SettingsError as err:
        parser.exit(2, "lbstack-feedback-agent: %s: %s\n" % (args.config, err))
    if args.command == "check":
        try:
            cgroup_dir(settings["cgroup"])
        except SettingsError as err:
            parser.exit(2, "lbstack-feedback-agent: %s: %s\n" % (args.config, err))
        print("%s: the settings can work" % args.config)
    elif args.command == "serve":
        serve(settings)
    elif args.command == "status":
        sampler = Sampler(settings)
        sampler.sample()
        time.sleep(min(settings["interval"], 1.0))
        sampler.sample()
        idle, broker = sampler.snapshot()
        admin = read_admin(settings["state_file"])
        reply = agent_reply(idle, admin, broker).strip() if settings["method"] == "agent" \
            else "%d %s" % http_reply(idle, admin, broker)
        print(json.dumps({"reply": reply, "idle": idle, "admin": admin, "broker": broker,
                          "broker_detail": sampler.broker_detail, "utilizations": sampler.utilizations},
                         sort_keys=True))
    else:
        write_admin(settings["state_file"], args.command)
        print("%s: %s" % (settings["state_file"], args.command))
    return 0


if __name__ == "__main__":
    sys.exit(main())
