# -*- coding: utf-8 -*-
# Copyright: (c) 2026, lbstack.rabbitmq contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""HAProxy side of a Layer 7 SNAT virtual service (TCP mode).

``render_service`` turns one normalized service (see ``model.py``) into a
``frontend``/``backend`` pair. The output is deterministic (no timestamps,
sorted where order carries no meaning) so that an unchanged model renders
byte-identical config and a re-run changes nothing.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import socket

from ansible_collections.lbstack.rabbitmq.plugins.module_utils import admin

# AMQP 0-9-1 protocol header. A broker answers it with a Connection.Start
# method frame: type 1, channel 0, a 4-byte size, then class 10 method 10.
AMQP_HEADER_HEX = "414d515000000901"
# HAProxy matches rbinary against the upper-case hex dump of the response.
AMQP_CONNECTION_START_RE = "^010000[0-9A-F]{8}000A000A"

# IPVS scheduler names (the model's vocabulary) to HAProxy balance algorithms.
BALANCE = {"rr": "roundrobin", "wrr": "roundrobin", "lc": "leastconn",
           "wlc": "leastconn", "sh": "source"}


def _bind_address(address, port):
    if ":" in address:
        return "[%s]:%d" % (address, port)
    return "%s:%d" % (address, port)


def _server_line(svc, rs, state):
    address = rs["ip"] if rs["port"] is None else "%s:%d" % (rs["ip"], rs["port"])
    # An operator's state (module_utils/admin.py) survives reloads and restarts
    # in the configuration itself: drained is weight 0 (no new connections,
    # established ones stay), halted starts in maintenance ("disabled").
    weight = 0 if state["state"] == "drained" else state["weight"]
    words = ["server", rs["label"], address, "weight", str(weight)]
    if state["state"] == "halted":
        words.append("disabled")
    if svc["health_check"] != "none":
        words.append("check")
        if rs["port"] is None:
            words += ["port", str(svc["ports"][0])]
        if svc["health_check"] == "amqps":
            # The broker's certificate names the VIP, not this address.
            words += ["check-ssl", "verify", "none"]
    if rs["max_conns"]:
        words += ["maxconn", str(rs["max_conns"])]
        if rs["min_conns"]:
            words += ["minconn", str(rs["min_conns"])]
    if svc["feedback"] == "agent":
        words += ["agent-check", "agent-port", str(svc["feedback_port"]),
                  "agent-inter", "%ds" % svc["feedback_interval"]]
    if svc["proxy_protocol"]:
        words.append("send-proxy-v2")
        if svc["health_check"] != "none":
            words.append("check-send-proxy")
    return "    " + " ".join(words)


def render_service(svc, admin_states=None):
    """Return the HAProxy configuration text of one l7_snat virtual service,
    with an operator's admin states and weights (``admin.read_service``)."""
    if svc["mode"] != "l7_snat":
        raise ValueError("HAProxy renders l7_snat services, not %r" % svc["mode"])
    name = svc["label"]
    lines = [
        "# Virtual service %s (Layer 7 SNAT, TCP mode), managed by lbstack.rabbitmq" % name,
        "frontend %s" % name,
        "    mode tcp",
        "    option tcplog",
        "    option clitcpka",
        "    timeout client %ds" % svc["proxy_timeout"],
        # transparent (IP_TRANSPARENT): once this member has given up the VIP, a
        # reply it already owes a client (a publisher confirm) still leaves from
        # the VIP, so the client is not left waiting for it until its next
        # heartbeat; its next packet reaches the new master and reconnects.
    ]
    for key in ("vip", "vip6"):
        if svc[key]:
            for port in svc["ports"]:
                extra = " v6only" if key == "vip6" else ""
                lines.append("    bind %s%s transparent" % (_bind_address(svc[key], port), extra))
    lines += [
        "    default_backend %s" % name,
        "",
        "backend %s" % name,
        "    mode tcp",
        "    balance %s" % BALANCE[svc["scheduler"]],
        "    option srvtcpka",
        "    timeout connect %ds" % svc["connect_timeout"],
        "    timeout server %ds" % svc["proxy_timeout"],
        "    timeout check %ds" % svc["connect_timeout"],
    ]
    if svc["health_check"] in ("amqp", "amqps"):
        lines += [
            "    option tcp-check",
            # An explicit connect rule does not take the server's check-ssl: say it here.
            "    tcp-check connect%s" % (" ssl" if svc["health_check"] == "amqps" else ""),
            "    tcp-check send-binary %s" % AMQP_HEADER_HEX,
            "    tcp-check expect rbinary %s" % AMQP_CONNECTION_START_RE,
        ]
    # A node that dies takes its connections with it; tell clients at once
    # (on-marked-down) so that they reconnect to a healthy node.
    lines.append("    default-server inter %ds fall 2 rise 2 on-marked-down shutdown-sessions"
                 % svc["check_interval"])
    states = admin.effective(svc, admin_states or {})
    lines += [_server_line(svc, rs, states[rs["label"]]) for rs in svc["real_servers"]]
    return "\n".join(lines) + "\n"


def fragment_name(label):
    return "%s.cfg" % label


def socket_command(path, command, timeout=2.0):
    """Send one command to an HAProxy CLI socket (stats or master) and return the answer.

    The answer ends with an empty line; the master CLI keeps the connection
    open after it, so the end is found by that marker rather than by EOF.
    """
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        sock.connect(path)
        sock.sendall(command.encode() + b"\n")
        data = b""
        while not data.endswith(b"\n\n"):
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    finally:
        sock.close()
    return data.decode("utf-8", "replace")


def parse_show_proc(text):
    """Parse the master CLI's ``show proc``.

    Returns ``{"master": {...}, "workers": [...], "old_workers": [...]}`` where
    each process is ``{"pid": int, "reloads": int, "failed": int}``. A worker
    with ``reloads == 0`` was started by the latest (successful) reload; after a
    failed reload the previous worker stays current and its count goes up.
    """
    result = {"master": None, "workers": [], "old_workers": []}
    section = "master"
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped:
            continue
        if stripped.startswith("#"):
            title = stripped.lstrip("#").strip().lower()
            if title == "workers":
                section = "workers"
            elif title == "old workers":
                section = "old_workers"
            elif title == "programs":
                section = "programs"
            continue
        words = stripped.split()
        if len(words) < 3 or not words[0].isdigit() or section == "programs":
            continue
        proc = {"pid": int(words[0]), "type": words[1], "reloads": int(words[2]), "failed": 0}
        if "[failed:" in stripped:
            proc["failed"] = int(stripped.split("[failed:")[1].split("]")[0])
        if words[1] == "master":
            result["master"] = proc
        elif section in ("workers", "old_workers"):
            result[section].append(proc)
    return result


def parse_show_stat(text):
    """Parse ``show stat`` CSV into a list of dicts keyed by the header's field names."""
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines or not lines[0].startswith("# "):
        return []
    header = lines[0][2:].rstrip(",").split(",")
    rows = []
    for line in lines[1:]:
        values = line.rstrip(",").split(",")
        rows.append(dict(zip(header, values)))
    return rows


def _int_or_zero(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def parse_servers_state(text):
    """Parse ``show servers state`` into ``{(backend, server): {...}}`` with the
    initial (configured) and current user weight, the admin and operational
    state, the address and the agent's port (0 without agent-check)."""
    header, out = None, {}
    for line in text.splitlines():
        if line.startswith("# "):
            header = line[2:].split()
            continue
        words = line.split()
        if header is None or len(words) < len(header) - 2:
            continue
        row = dict(zip(header, words))
        out[(row.get("be_name"), row.get("srv_name"))] = {
            "iweight": _int_or_zero(row.get("srv_iweight")),
            "uweight": _int_or_zero(row.get("srv_uweight")),
            "admin_state": _int_or_zero(row.get("srv_admin_state")),
            "op_state": _int_or_zero(row.get("srv_op_state")),
            "address": row.get("srv_addr", ""),
            "agent_address": row.get("srv_agent_addr", "-"),
            "agent_port": _int_or_zero(row.get("srv_agent_port")),
        }
    return out


def _server_address(addr):
    """``show stat``'s address of a server: port 0 means the server line has
    none (connections go to the port the client asked for), so leave it out."""
    addr = addr or ""
    if addr.endswith(":0"):
        addr = addr[:-2]
        if addr.startswith("[") and addr.endswith("]"):
            addr = addr[1:-1]
    return addr


def overview(rows, states=None, replies=None):
    """Group ``show stat`` rows into virtual services with their real servers.

    A virtual service is a frontend and a backend that share its label;
    proxies that are not both (the liveness frontend, HAProxy's internal
    ones) are left out. The result lists, per label, the frontend's status
    and current connections and each server's health, weight and current
    connections. ``states`` (``parse_servers_state``) gives each server's
    configured weight; ``replies`` maps ``(backend, server)`` to what its
    feedback agent answers (shown for servers with an agent-check).
    """
    states, replies = states or {}, replies or {}
    services = {}
    for row in rows:
        name, kind = row.get("pxname"), row.get("svname")
        entry = services.setdefault(name, {"label": name, "status": None, "conns": 0,
                                           "real_servers": []})
        if kind == "FRONTEND":
            entry["status"] = row.get("status")
            entry["conns"] = _int_or_zero(row.get("scur"))
        elif kind == "BACKEND":
            entry["backend_status"] = row.get("status")
        else:
            entry["real_servers"].append({
                "label": kind,
                "address": _server_address(row.get("addr")),
                "health": row.get("status"),
                "check": row.get("check_status", ""),
                # A drained or halted server takes no new connections whatever its
                # weight says (HAProxy shows the weight it will have back).
                "weight": 0 if (row.get("status") or "").startswith(("DRAIN", "MAINT"))
                else _int_or_zero(row.get("weight")),
                "configured_weight": states.get((name, kind), {}).get("iweight", _int_or_zero(row.get("weight"))),
                "conns": _int_or_zero(row.get("scur")),
                "total_conns": _int_or_zero(row.get("stot")),
            })
            if row.get("agent_status"):
                # HAProxy keeps no copy of the agent's words: what the agent answers now.
                entry["real_servers"][-1]["agent"] = replies.get((name, kind), "")
    return [services[name] for name in sorted(services)
            if services[name]["status"] and "backend_status" in services[name]]
