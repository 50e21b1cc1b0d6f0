# -*- coding: utf-8 -*-
# Copyright: (c) 2026, lbstack.rabbitmq contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""An operator's admin state of real servers, kept on each load balancer.

One file per real server, ``<admin_dir>/<service>/<server>``, with one line:
``STATE [WEIGHT]``, where STATE is ``online``, ``drained`` or ``halted`` and
WEIGHT, when present, replaces the inventory's weight. No file means online at
the inventory's weight. The file outlives engine reloads, restarts, site.yml
runs and reboots, and both engines read it:

- HAProxy: the service's fragment is rendered with it (``disabled`` for a
  halted server, ``weight 0`` for a drained one), and the runtime API applies
  it at once;
- keepalived/IPVS: the feedback checker (roles/load_balancer/files/
  feedback-check) reads it before asking any agent: drained -> weight 0,
  halted -> out of the table.

The normalized model of each virtual service a balancer serves is kept beside
it, ``<services_dir>/<label>.json`` (written by the virtual_service module),
so that the day-2 modules know the service without the inventory.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import tempfile

ADMIN_DIR = "/var/lib/lbstack/admin"
SERVICES_DIR = "/var/lib/lbstack/services"
# keepalived's track file (roles/load_balancer/templates/keepalived.conf.j2):
# 1 holds the balancer in standby (VRRP priority 1), 0 or no file releases it.
STANDBY_FILE = "/var/lib/lbstack/vrrp-standby"
STATES = ("online", "drained", "halted")


class AdminError(Exception):
    pass


def parse(text):
    """``"drained 50"`` -> ``{"state": "drained", "weight": 50}``; an unreadable
    line is an error (the checker would treat it as online)."""
    words = (text or "").split()
    if not words:
        return {"state": "online", "weight": None}
    if words[0] not in STATES or len(words) > 2 or (len(words) == 2 and not words[1].isdigit()):
        raise AdminError("not an admin state line: %r" % (text or "").strip())
    return {"state": words[0], "weight": int(words[1]) if len(words) == 2 else None}


def render(state, weight=None):
    """The file's content, or None when there is nothing to keep (online at the
    inventory's weight)."""
    if state not in STATES:
        raise AdminError("state %r is not one of %s" % (state, ", ".join(STATES)))
    if state == "online" and weight is None:
        return None
    return "%s\n" % state if weight is None else "%s %d\n" % (state, weight)


def path(admin_dir, service, server):
    return os.path.join(admin_dir, service, server)


def read_service(admin_dir, service):
    """``{server: {"state", "weight"}}`` for the servers of ``service`` with a file."""
    out = {}
    directory = os.path.join(admin_dir, service)
    try:
        names = sorted(os.listdir(directory))
    except OSError:
        return out
    for name in names:
        if name.startswith("."):
            continue
        try:
            with open(os.path.join(directory, name)) as handle:
                out[name] = parse(handle.read())
        except (IOError, OSError):
            continue
    return out


def effective(svc, admin_states):
    """Per real server of ``svc``: its admin state and the weight the engine
    should use (the operator's weight, else the inventory's)."""
    out = {}
    for rs in svc["real_servers"]:
        entry = admin_states.get(rs["label"]) or {"state": "online", "weight": None}
        weight = rs["weight"] if entry["weight"] is None else entry["weight"]
        out[rs["label"]] = {"state": entry["state"], "weight": weight,
                            "weight_override": entry["weight"]}
    return out


def standby_hold(filename=STANDBY_FILE):
    """Whether the balancer is held in standby; None when the file holds
    something keepalived would not read as 0 or 1."""
    try:
        with open(filename) as fh:
            text = fh.read().strip()
    except (IOError, OSError):
        return False
    if text in ("", "0"):
        return False
    return True if text == "1" else None


def write_atomic(filename, content, mode=0o644, move=os.rename):
    """Write ``content`` to ``filename`` atomically (``None`` removes it): a
    temporary file in the same directory, then ``move`` (``os.rename``, or a
    module's ``atomic_move``, which keeps an existing file's owner and mode)."""
    if content is None:
        if os.path.exists(filename):
            os.unlink(filename)
        return
    directory = os.path.dirname(filename)
    if not os.path.isdir(directory):
        os.makedirs(directory, 0o755)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".lbstack-")
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(content)
        os.chmod(tmp, mode)
        move(tmp, filename)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def remove_service(admin_dir, service):
    """Forget the admin states of a virtual service that is gone."""
    directory = os.path.join(admin_dir, service)
    if os.path.isdir(directory):
        for name in os.listdir(directory):
            os.unlink(os.path.join(directory, name))
        os.rmdir(directory)


def service_json(svc):
    return json.dumps(svc, sort_keys=True, indent=1) + "\n"


def load_service(services_dir, label):
    """The normalized model of the virtual service ``label`` as its balancer keeps
    it, or None when this balancer does not serve it."""
    try:
        with open(os.path.join(services_dir, label + ".json")) as handle:
            return json.load(handle)
    except (IOError, OSError, ValueError):
        return None


def load_services(services_dir):
    out = []
    try:
        names = sorted(os.listdir(services_dir))
    except OSError:
        return out
    for name in names:
        if name.endswith(".json") and not name.startswith("."):
            svc = load_service(services_dir, name[:-5])
            if svc is not None:
                out.append(svc)
    return out


def service_state(server_states):
    """A virtual service's admin state from its real servers': halted or drained
    when every one is; drained when none is online (some halted, some drained);
    else online."""
    kinds = set(server_states)
    if len(kinds) == 1 and kinds != {"online"}:
        return kinds.pop()
    return "drained" if kinds and kinds <= {"drained", "halted"} else "online"


def describe(services, models, states):
    """Add each service's mode, VIPs and ports, and each real server's admin state
    (HAProxy's overview has no model), and the service's own admin state."""
    for entry in services:
        svc = models.get(entry["label"])
        if svc is not None:
            entry.update(mode=svc["mode"], vip=svc.get("vip"), vip6=svc.get("vip6"), ports=svc["ports"])
            effective_states = effective(svc, states.get(svc["label"], {}))
        else:
            effective_states = {}
        configured = dict((rs["label"], rs["weight"]) for rs in (svc or {}).get("real_servers", []))
        for rs in entry["real_servers"]:
            # the inventory's weight (HAProxy's configured weight is 0 while drained)
            if rs["label"] in configured:
                rs["configured_weight"] = configured[rs["label"]]
            state = effective_states.get(rs["label"], {"state": "online", "weight_override": None})
            rs.setdefault("admin_state", state["state"])
            rs.setdefault("weight_override", state["weight_override"])
        entry["admin_state"] = service_state(rs["admin_state"] for rs in entry["real_servers"])
