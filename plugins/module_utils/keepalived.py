# -*- coding: utf-8 -*-
# Copyright: (c) 2026, lbstack.rabbitmq contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""keepalived/IPVS side of a Layer 4 Direct Routing virtual service.

``render_service`` turns one normalized ``l4_dr`` service (see ``model.py``)
into keepalived ``virtual_server`` blocks, one per VIP address and port.
``parse_ipvsadm`` reads ``ipvsadm -Ln --exact`` so that tests and ``lb_info``
can see what the kernel really forwards.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re

from ansible_collections.lbstack.rabbitmq.plugins.module_utils import admin, model

# Health checks: every check_interval seconds (the model's field); a check that
# has no answer within the service's connect_timeout fails (as HAProxy's
# "timeout check"), and one retry half a second later decides. A broker that
# refuses connections fails at once: it leaves the IPVS table within
# check_interval + 0.5 s plus two checker runs (about 3 s with the default 2);
# one that hangs within check_interval + 2 x connect_timeout + 0.5 s (about 12 s
# with the defaults), so a director or broker that stalls for a few seconds
# (a busy machine) does not lose its real servers.
RETRY = 1
DELAY_BEFORE_RETRY = 0.5


def _endpoint(address, port):
    return "%s %d" % (address, port)


def amqp_check_args(svc, address, port):
    """The AMQP checker's arguments for one real server: it waits at most the
    service's connect_timeout for each byte of the answer (keepalived ends it
    then too); amqps: the same inside TLS."""
    return [address, str(port), str(svc["connect_timeout"])] + (["tls"] if svc["health_check"] == "amqps" else [])


def _checker(svc, address, port, checker_path):
    if svc["health_check"] == "none":
        return []
    timeout = svc["connect_timeout"]
    if svc["health_check"] == "tcp":
        return [
            "        TCP_CHECK {",
            "            connect_port %d" % port,
            "            connect_timeout %d" % timeout,
            "            retry %d" % RETRY,
            "            delay_before_retry %s" % DELAY_BEFORE_RETRY,
            "        }",
        ]
    return [
        "        MISC_CHECK {",
        '            misc_path "%s"' % " ".join([checker_path] + amqp_check_args(svc, address, port)),
        "            misc_timeout %d" % timeout,
        "            retry %d" % RETRY,
        "            delay_before_retry %s" % DELAY_BEFORE_RETRY,
        "        }",
    ]


# The feedback checker (roles/load_balancer/files/feedback-check) sits beside the
# AMQP checker, records each agent's last reply in FEEDBACK_REPLY_DIR and reads
# an operator's admin state of a real server from ADMIN_STATE_DIR/<service>/<server>.
FEEDBACK_CHECKER = "feedback-check"
FEEDBACK_TIMEOUT = 5
FEEDBACK_REPLY_DIR = "/run/lbstack/feedback"
ADMIN_STATE_DIR = "/var/lib/lbstack/admin"


def _feedback_checker(svc, rs, address, weight, path):
    """MISC_CHECK with misc_dynamic: keepalived sets the weight to the
    checker's exit status - 2 (the agent's idle share of ``weight``), and takes
    the real server out on status 1 (agent says down, or halted by an operator).
    Every real server has one: without the feedback agent (method ``none``) it
    applies only an operator's admin state and weight."""
    return [
        "        MISC_CHECK {",
        '            misc_path "%s %s %s %d %d %s %s"' % (
            path, svc.get("feedback", "none"), address, svc["feedback_port"], weight, svc["label"],
            rs["label"]),
        # The checker bounds each wait itself (2 s); a run that keepalived has to
        # kill (a stalled director) counts as a failure only when its retry fails
        # too. It gets as long as the service's health check (connect_timeout),
        # so that a director that stalls takes real servers out no sooner.
        "            misc_timeout %d" % max(FEEDBACK_TIMEOUT, svc["connect_timeout"]),
        "            retry %d" % RETRY,
        "            delay_before_retry %s" % DELAY_BEFORE_RETRY,
        "            misc_dynamic",
        "            delay_loop %d" % svc["feedback_interval"],
        "        }",
    ]


def render_service(svc, checker_path, feedback_checker=None, admin_states=None):
    """Return the keepalived ``virtual_server`` blocks of one l4_dr service.

    ``checker_path`` is the AMQP checker; the feedback checker is
    ``feedback_checker``, by default FEEDBACK_CHECKER beside it. The weights
    are keepalived's starting weights (``model.dynamic_weights``: at most 253,
    the checker's exit status sets them). ``admin_states``
    (``admin.read_service``) are an operator's: a drained or halted server
    starts at weight 0 and one with an operator's weight at that weight, so a
    keepalived that starts (a restart, a reboot, a respawned checker process)
    sends it no new connection before its feedback checker first runs. The
    checker's own argument stays the configured weight: the state file is
    what it reads."""
    if svc["mode"] != "l4_dr":
        raise ValueError("keepalived/IPVS renders l4_dr services, not %r" % svc["mode"])
    lines = ["# Virtual service %s (Layer 4 Direct Routing), managed by lbstack.rabbitmq"
             % svc["label"]]
    if feedback_checker is None:
        feedback_checker = os.path.join(os.path.dirname(checker_path), FEEDBACK_CHECKER)
    weights = model.dynamic_weights(svc)
    states = admin.effective(svc, admin_states or {})
    start = dict((label, 0 if state["state"] != "online" else model.scale_weight(svc, state["weight"]))
                 for label, state in states.items())
    families = [("vip", "ip")]
    if svc.get("vip6"):
        families.append(("vip6", "ip6"))
    for vip_key, rip_key in families:
        vip = svc.get(vip_key)
        if not vip:
            continue
        for port in svc["ports"]:
            lines += [
                "virtual_server %s {" % _endpoint(vip, port),
                "    delay_loop %d" % svc["check_interval"],
                "    lb_algo %s" % svc["scheduler"],
                "    lb_kind DR",
                "    protocol TCP",
            ]
            if svc.get("persistence"):
                lines.append("    persistence_timeout %d" % svc["persistence"])
            for rs in svc["real_servers"]:
                address = rs.get(rip_key)
                lines += [
                    "    real_server %s {" % _endpoint(address, port),
                    "        weight %d" % start[rs["label"]],
                ]
                if rs["max_conns"]:
                    lines.append("        uthreshold %d" % rs["max_conns"])
                if rs["min_conns"]:
                    lines.append("        lthreshold %d" % rs["min_conns"])
                lines += _checker(svc, address, port, checker_path)
                lines += _feedback_checker(svc, rs, address, weights[rs["label"]], feedback_checker)
                lines.append("    }")
            lines.append("}")
    return "\n".join(lines) + "\n"


_VERSION_RE = re.compile(r"Keepalived v(\d+)\.(\d+)\.(\d+)")
# keepalived -t exits non-zero for a configuration error from 2.2.8 on; 2.2.7
# (Debian 12) exits 0 for errors too, so there any message is a rejection.
CONFIG_TEST_EXIT_CODE_FROM = (2, 2, 8)


def parse_version(text):
    """(major, minor, patch) from ``keepalived --version`` output, or None."""
    found = _VERSION_RE.search(text or "")
    return tuple(int(part) for part in found.groups()) if found else None


def config_test_verdict(version, rc, output):
    """(rejected, warnings) of a ``keepalived -t`` run.

    Every version only prints a message, and exits 0, for a file it cannot
    read (a missing include): that is always a rejection. From 2.2.8 on a
    configuration error also exits non-zero, and other messages are warnings
    passed on; before that (or when the version is unknown) exit codes cannot
    be trusted and any message is a rejection.
    """
    lines = [line.strip() for line in (output or "").splitlines() if line.strip()]
    if rc != 0:
        return True, []
    if version is None or version < CONFIG_TEST_EXIT_CODE_FROM:
        return bool(lines), []
    missing = [line for line in lines if "missing" in line.lower()]
    return bool(missing), [line for line in lines if line not in missing]


_VIRTUAL_SERVER_RE = re.compile(r"^virtual_server\s+(\S+)\s+(\d+)\s*\{", re.M)


def fragment_endpoints(text):
    """The (address, port) pairs of the virtual_server blocks in a fragment."""
    return set((m.group(1), int(m.group(2))) for m in _VIRTUAL_SERVER_RE.finditer(text or ""))


_SERVICE_RE = re.compile(r"^(TCP|UDP|SCTP)\s+(\S+)\s+(\S+)(.*)$")
_REAL_RE = re.compile(r"^\s+->\s+(\S+)\s+(\S+)\s+(\d+)\s+(\d+)\s+(\d+)\s*$")


def _split_endpoint(text):
    if text.startswith("["):
        address, port = text[1:].rsplit("]:", 1)
    else:
        address, port = text.rsplit(":", 1)
    return address, int(port)


def parse_ipvsadm(text):
    """Parse ``ipvsadm -Ln --exact`` into a list of virtual services.

    Each entry: ``{"protocol", "vip", "port", "scheduler", "flags",
    "real_servers": [{"ip", "port", "forward", "weight", "active", "inactive"}]}``.
    """
    services = []
    for line in text.splitlines():
        match = _SERVICE_RE.match(line)
        if match:
            vip, port = _split_endpoint(match.group(2))
            services.append({"protocol": match.group(1).lower(), "vip": vip, "port": port,
                             "scheduler": match.group(3), "flags": match.group(4).strip(),
                             "real_servers": []})
            continue
        match = _REAL_RE.match(line)
        if match and services:
            ip, port = _split_endpoint(match.group(1))
            services[-1]["real_servers"].append({
                "ip": ip, "port": port, "forward": match.group(2),
                "weight": int(match.group(3)), "active": int(match.group(4)),
                "inactive": int(match.group(5))})
    return services


def overview(services, table, replies=None, admin_states=None):
    """The System Overview of l4_dr ``services`` from a parsed IPVS ``table``.

    Same shape as ``haproxy.overview``: per service its status (OPEN when the
    kernel has every VIP:port of it) and connections (active, all families and
    ports), per real server its health (UP while the kernel forwards to it on
    every VIP:port, DOWN when the health checks took it out), weight and
    connections (active + inactive), configured weight and, where the feedback
    agent is used, its last reply (``replies``: real server address -> text,
    see ``read_replies``), and its admin state (``admin_states``: ``{service
    label: admin.read_service(...)}``).
    """
    replies, admin_states = replies or {}, admin_states or {}
    index = dict(((v["vip"], v["port"]), v) for v in table if v["protocol"] == "tcp")
    out = []
    for svc in services:
        if svc["mode"] != "l4_dr":
            continue
        families = [(svc[k], r) for k, r in (("vip", "ip"), ("vip6", "ip6")) if svc.get(k)]
        entries = [(index.get((vip, port)), rkey, port) for vip, rkey in families for port in svc["ports"]]
        vservers = [e[0] for e in entries]
        entry = {"label": svc["label"], "status": "OPEN" if all(vservers) else "DOWN",
                 "conns": sum(r["active"] for v in vservers if v for r in v["real_servers"]),
                 "real_servers": []}
        states = admin.effective(svc, admin_states.get(svc["label"], {}))
        for rs in svc["real_servers"]:
            found = []
            for vserver, rkey, port in entries:
                rows = [r for r in (vserver or {}).get("real_servers", [])
                        if r["ip"] == rs[rkey] and r["port"] == (rs["port"] or port)]
                found.append(rows[0] if rows else None)
            up = all(found)
            entry["real_servers"].append({
                "label": rs["label"], "address": rs["ip"],
                "health": "UP" if up else "DOWN",
                "check": "" if up else ("partly in IPVS" if any(found) else "not in IPVS"),
                "weight": min(r["weight"] for r in found if r) if any(found) else 0,
                "configured_weight": rs["weight"],
                "admin_state": states[rs["label"]]["state"],
                "weight_override": states[rs["label"]]["weight_override"],
                "conns": sum(r["active"] + r["inactive"] for r in found if r),
                "active": sum(r["active"] for r in found if r),
                "inactive": sum(r["inactive"] for r in found if r),
            })
            if svc.get("feedback", "none") != "none":
                entry["real_servers"][-1]["agent"] = replies.get(
                    "%s-%d" % (rs["ip"], svc["feedback_port"]), "")
        out.append(entry)
    return out


def read_replies(directory=FEEDBACK_REPLY_DIR):
    """The feedback agents' last replies as the checker recorded them:
    ``{"<address>-<port>": reply}`` (empty when the directory is missing)."""
    out = {}
    try:
        names = os.listdir(directory)
    except OSError:
        return out
    for name in names:
        try:
            with open(os.path.join(directory, name)) as handle:
                out[name] = handle.read().strip()
        except (IOError, OSError):
            continue
    return out


def expected_table(svc, admin_states=None):
    """What the kernel's IPVS table holds for one l4_dr service once keepalived
    has it: ``{(vip, port): {"scheduler", "persistence", "dynamic",
    "real_servers": {(ip, port): weight}, "halted": set of (ip, port)}}``.
    ``admin_states`` (``admin.read_service``) gives an operator's states and
    weights: a drained server's weight is 0, a halted one is out."""
    states = admin.effective(svc, admin_states or {})
    out = {}
    for vip_key, rip_key in (("vip", "ip"), ("vip6", "ip6")):
        if not svc.get(vip_key):
            continue
        for port in svc["ports"]:
            weights, halted = {}, set()
            for rs in svc["real_servers"]:
                rip = (rs[rip_key], rs["port"] or port)
                state = states[rs["label"]]
                weights[rip] = 0 if state["state"] == "drained" else model.scale_weight(svc, state["weight"])
                if state["state"] == "halted":
                    halted.add(rip)
            out[(svc[vip_key], port)] = {
                "scheduler": svc["scheduler"], "persistence": svc.get("persistence") or 0,
                # The feedback agent moves the weights: only their presence is checked.
                "dynamic": svc.get("feedback", "none") != "none",
                "real_servers": weights, "halted": halted}
    return out


def _persistence(flags):
    words = flags.split()
    if "persistent" in words:
        index = words.index("persistent")
        if index + 1 < len(words) and words[index + 1].isdigit():
            return int(words[index + 1])
    return 0


def table_problems(services, table, healthy, absent=(), admin_states=None):
    """Why the parsed IPVS ``table`` does not (yet) serve ``services`` as rendered.

    Every VIP:port must be there with its scheduler and persistence; every real
    server in ``healthy`` (a set of (ip, port) whose health check passes now)
    must be there (unless an operator halted it), no real server that is not
    rendered may be, and the weights must be the rendered ones (an operator's:
    drained 0). ``absent`` are (vip, port) that must be gone. ``admin_states``:
    ``{service label: admin.read_service(...)}``.
    Returns a sorted list of problems, empty when the table is as rendered.
    """
    index = dict(((v["vip"], v["port"]), v) for v in table if v["protocol"] == "tcp")
    problems = []
    for endpoint in absent:
        if endpoint in index:
            problems.append("%s:%d is still in IPVS" % endpoint)
    for svc in services:
        for endpoint, want in sorted(expected_table(svc, (admin_states or {}).get(svc["label"])).items()):
            name = "%s:%d" % endpoint
            live = index.get(endpoint)
            if live is None:
                problems.append("%s is not in IPVS" % name)
                continue
            if live["scheduler"] != want["scheduler"]:
                problems.append("%s schedules %s, not %s" % (name, live["scheduler"], want["scheduler"]))
            if _persistence(live["flags"]) != want["persistence"]:
                problems.append("%s persistence %d, not %d" % (name, _persistence(live["flags"]),
                                                               want["persistence"]))
            rows = dict(((r["ip"], r["port"]), r["weight"]) for r in live["real_servers"])
            for rip, weight in sorted(want["real_servers"].items()):
                if rip in want["halted"]:
                    continue
                if rip in rows and rows[rip] != weight and (not want["dynamic"] or weight == 0):
                    problems.append("%s real server %s:%d has weight %d, not %d"
                                    % (name, rip[0], rip[1], rows[rip], weight))
                elif rip not in rows and rip in healthy:
                    problems.append("%s real server %s:%d passes its check but is not in IPVS"
                                    % ((name,) + rip))
            for rip in sorted(set(rows) - set(want["real_servers"])):
                problems.append("%s real server %s:%d is not rendered" % ((name,) + rip))
    return sorted(problems)
