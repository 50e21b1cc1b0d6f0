#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, lbstack.rabbitmq contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: real_server
short_description: Drain, halt or bring back a real server (RIP state), or a whole virtual service
version_added: 0.2.0
description:
  - Sets the admin state and weight of one real server of one virtual service on this load
    balancer, as the appliance's System Overview does with Drain, Halt and Online. Run it on
    every member of an HA pair (the playbooks do), so a failover keeps the state.
  - C(drained) - established connections stay, no new ones (weight 0). C(halted) - out of
    rotation at once. HAProxy puts a halted server in maintenance and, with the collection's
    C(on-marked-down shutdown-sessions), closes its connections; IPVS takes a halted server out of
    the table, and connections already established keep being forwarded until they end.
    C(online) - back in rotation at its weight (once its health check passes).
  - Takes effect at once and is persisted in O(admin_dir) on the balancer. HAProxy - the runtime
    API applies it, and the service's fragment is rewritten with it (weight 0 for drained,
    C(disabled) for halted) without a reload, so a reload, a restart and a reboot start with it.
    keepalived/IPVS - the collection's checker of every real server reads the state file (drained
    weight 0, halted the check fails), and the module sets the IPVS weight to 0 at once for
    drained and halted; neither keepalived's health checks nor the feedback agent can undo it.
    M(lbstack.rabbitmq.virtual_service) (a C(site.yml) run) renders with the same state.
  - Without O(server), every real server of the service gets the state - the virtual service is
    taken out of service (C(halted), C(drained)) or brought back (C(online)) as a whole.
  - The service must have been deployed on this host by M(lbstack.rabbitmq.virtual_service),
    which keeps its model in O(services_dir).
author:
  - lbstack.rabbitmq contributors (@lbstack)
options:
  service:
    description:
      - The virtual service's label, as in the model. Omitted, every service of this balancer
        that has O(server) as a real server.
    type: str
  server:
    description:
      - The real server's label, as in the model (the broker's host name for a service with
        C(real_servers_group)). Omitted, every real server of O(service).
      - One of O(service) and O(server) is required.
    type: str
  state:
    description:
      - The admin state. Omitted, the current state stays (to change only O(weight)).
    type: str
    choices: [online, drained, halted]
  weight:
    description:
      - A weight that replaces the inventory's until it is set back with C(default)
        (0-256 for C(l7_snat), 0-65535 for C(l4_dr), scaled like the inventory's weights where
        keepalived needs it). Omitted, the current weight stays. The feedback agent scales this
        weight as it scales the inventory's.
    type: raw
  wait:
    description:
      - Wait until the server has no connections (HAProxy current sessions; IPVS active
        connections). Useful after C(drained) before stopping the broker.
    type: bool
    default: false
  wait_timeout:
    description: Seconds O(wait) waits before it fails (the state stays applied).
    type: int
    default: 300
  stats_socket:
    description: HAProxy's stats socket (admin level), for the runtime API.
    type: path
    default: /run/haproxy/admin.sock
extends_documentation_fragment:
  - lbstack.rabbitmq.engine
attributes:
  check_mode:
    support: full
    description: Reports what would change; nothing is written or applied.
  diff_mode:
    support: full
    description: Shows each server's admin state line before and after.
notes:
  - An operator's state always wins over the feedback agent, whose replies never carry admin
    words (HAProxy's C(ready) or C(drain)).
  - HAProxy - bringing a server back C(online), or changing its weight, after the engine was
    reloaded while it was drained costs one graceful reload (its configured weight was 0).
seealso:
  - module: lbstack.rabbitmq.lb_info
"""

EXAMPLES = r"""
- name: Drain rabbit1 on both balancers and wait until its clients are gone
  lbstack.rabbitmq.real_server:
    service: RabbitMQ_HA
    server: rabbit1
    state: drained
    wait: true
    wait_timeout: 120

- name: Bring it back
  lbstack.rabbitmq.real_server:
    service: RabbitMQ_HA
    server: rabbit1
    state: online

- name: Give rabbit2 half its weight until further notice
  lbstack.rabbitmq.real_server:
    service: RabbitMQ_HA
    server: rabbit2
    weight: 50

- name: Back to the inventory's weight
  lbstack.rabbitmq.real_server:
    service: RabbitMQ_HA
    server: rabbit2
    weight: default

- name: Take the whole virtual service out of service
  lbstack.rabbitmq.real_server:
    service: RabbitMQ_HA
    state: halted
"""

RETURN = r"""
engine:
  description: The engine that serves the service (C(mixed) when the task set servers of several services).
  returned: always
  type: str
  sample: haproxy
servers:
  description: Each real server this task set, with its state and weight before and after.
  returned: always
  type: list
  elements: dict
  sample:
    - {service: RabbitMQ_HA, label: rabbit1, state: drained, weight: null, before_state: online,
       before_weight: null}
reloaded:
  description: Whether the engine was reloaded (HAProxy, see the notes).
  returned: always
  type: bool
connections:
  description: The connections the servers still had when the task ended (with O(wait), 0).
  returned: when O(wait) is true
  type: int
"""

import os
import time

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.lbstack.rabbitmq.plugins.module_utils import admin
from ansible_collections.lbstack.rabbitmq.plugins.module_utils import engine as engines
from ansible_collections.lbstack.rabbitmq.plugins.module_utils import haproxy, keepalived, model

HAPROXY_COMMAND = {"online": "ready", "drained": "drain", "halted": "maint"}


def parse_weight(module, svc, value):
    """``weight`` option -> ("keep",), ("default",) or ("set", int)."""
    if value is None:
        return ("keep",)
    if isinstance(value, str) and value.strip() == "default":
        return ("default",)
    try:
        weight = int(value)
    except (TypeError, ValueError):
        module.fail_json(msg="weight: %r is not a number or 'default'" % (value,))
    high = model.WEIGHT_MAX[svc["mode"]]
    if not 0 <= weight <= high or isinstance(value, bool):
        module.fail_json(msg="weight: %r is not between 0 and %d (%s)" % (value, high, svc["mode"]))
    return ("set", weight)


def desired_states(module, svc, current):
    params = module.params
    labels = [rs["label"] for rs in svc["real_servers"]]
    if params["server"] is not None and params["server"] not in labels:
        module.fail_json(msg="server: %r is not a real server of %s (its real servers: %s)"
                         % (params["server"], svc["label"], ", ".join(labels)))
    weight = parse_weight(module, svc, params["weight"])
    out = {}
    for label in [params["server"]] if params["server"] is not None else labels:
        before = current.get(label) or {"state": "online", "weight": None}
        after = {"state": params["state"] or before["state"],
                 "weight": {"keep": before["weight"], "default": None}.get(weight[0], weight[-1])}
        out[label] = (before, after)
    return out


def haproxy_runtime(module, sock, backend, server, state):
    """Set one server's admin state through the runtime API."""
    command = "set server %s/%s state %s" % (backend, server, HAPROXY_COMMAND[state])
    answer = haproxy.socket_command(sock, command).strip()
    if answer:
        module.fail_json(msg="HAProxy refused '%s': %s" % (command, answer))


def apply_haproxy(module, svc, states, changes):
    """Rewrite the fragment with the new states (validated, no reload) and apply them
    through the runtime API; reload only where the running weight cannot be set at
    runtime. Returns whether HAProxy was reloaded."""
    params = module.params
    path = os.path.join(params["fragment_dir"], svc["label"] + engines.ENGINES["haproxy"]["suffix"])
    desired = engines.render_fragment(params, svc, states)
    files = {path: desired} if engines.read_text(path) != desired else {}
    if files:
        engines.validate(module, "haproxy", files)
    sock = params["stats_socket"]
    if not (os.path.exists(sock) and engines.unit_active(module)):
        engines.put_files(module, files)
        return False
    running = haproxy.parse_servers_state(haproxy.socket_command(sock, "show servers state %s" % svc["label"]))
    effective = admin.effective(svc, states)
    reload_needed = False
    for label in sorted(changes):
        state = effective[label]
        live = running.get((svc["label"], label))
        if live is None:
            reload_needed = True
            continue
        if state["state"] == "online" and live["iweight"] != state["weight"]:
            # the agent scales the configured (initial) weight: only a reload sets it
            reload_needed = True
    if reload_needed:
        params["reload"] = True
        return engines.apply(module, "haproxy", files or {path: desired})
    engines.put_files(module, files)
    for label in sorted(changes):
        haproxy_runtime(module, sock, svc["label"], label, effective[label]["state"])
    return False


def ipvs_rows(table, svc, label):
    """The IPVS rows ((vip, port), (rip, rport), weight) of real server ``label`` of ``svc``."""
    rows = []
    index = dict(((v["vip"], v["port"]), v) for v in table or [] if v["protocol"] == "tcp")
    rs = [r for r in svc["real_servers"] if r["label"] == label][0]
    for endpoint, want in keepalived.expected_table(svc).items():
        present = dict(((r["ip"], r["port"]), r["weight"]) for r in index.get(endpoint, {}).get("real_servers", []))
        for rip in want["real_servers"]:
            if rip[0] in (rs["ip"], rs.get("ip6")) and rip in present:
                rows.append((endpoint, rip, present[rip]))
    return rows


def zero_weights(module, ipvsadm, svc, effective, changes):
    """Weight 0 on each IPVS row of a drained or halted server that has another."""
    table = engines.ipvs_table(module)
    for label in sorted(changes):
        if effective[label]["state"] == "online":
            continue
        for (vip, port), (rip, rport), weight in ipvs_rows(table, svc, label):
            if weight:
                fmt = "[%s]:%d" if ":" in vip else "%s:%d"
                module.run_command([ipvsadm, "-e", "-t", fmt % (vip, port), "-r", fmt % (rip, rport),
                                    "-g", "-w", "0"], check_rc=True)


def apply_keepalived(module, svc, states, changes):
    """Rewrite the fragment with the new starting weights (validated, no reload:
    what a starting keepalived applies); weight 0 at once for drained and halted
    servers; then wait until keepalived's checkers have put every state in force
    (confirm_timeout)."""
    params = module.params
    path = os.path.join(params["fragment_dir"], svc["label"] + engines.ENGINES["keepalived"]["suffix"])
    desired = engines.render_fragment(params, svc, states)
    if engines.read_text(path) not in (None, desired):
        engines.validate(module, "keepalived", {path: desired})
        engines.put_files(module, {path: desired})
    ipvsadm = module.get_bin_path("ipvsadm")
    if ipvsadm is None or not engines.unit_active(module):
        return
    effective = admin.effective(svc, states)
    zero_weights(module, ipvsadm, svc, effective, changes)
    if any(effective[label]["state"] != "online" for label in changes):
        # A checker run that began before the state file was written can still
        # report the old weight, and keepalived applies it when it differs from
        # that checker's previous result: hold weight 0 until every such run
        # has ended (misc_timeout), so no new connection reaches the server.
        settle = time.time() + keepalived.FEEDBACK_TIMEOUT + 1
        while time.time() < settle:
            time.sleep(0.5)
            zero_weights(module, ipvsadm, svc, effective, changes)
    healthy = engines.healthy_real_servers(module, [svc])
    deadline = time.time() + module.params["confirm_timeout"]
    while True:
        problems = keepalived.table_problems([svc], engines.ipvs_table(module) or [], healthy, (),
                                             {svc["label"]: states})
        if not problems:
            return
        if time.time() >= deadline:
            module.fail_json(msg="the admin state is kept in %s, but keepalived did not put it in force"
                             " within %ds: %s" % (module.params["admin_dir"], module.params["confirm_timeout"],
                                                  "; ".join(problems)))
        time.sleep(0.5)


def connections(module, services):
    """The connections the servers this task set still have, over ``services``."""
    total = 0
    for svc in services:
        labels = [module.params["server"]] if module.params["server"] else [
            rs["label"] for rs in svc["real_servers"]]
        if svc["engine"] == "haproxy":
            rows = haproxy.parse_show_stat(haproxy.socket_command(module.params["stats_socket"], "show stat"))
            total += sum(int(r.get("scur") or 0) for r in rows
                         if r.get("pxname") == svc["label"] and r.get("svname") in labels)
        else:
            view = keepalived.overview([svc], engines.ipvs_table(module) or [])
            total += sum(rs["active"] for entry in view for rs in entry["real_servers"] if rs["label"] in labels)
    return total


def select_services(module):
    """The kept models of the services this task changes, or fail naming the option."""
    params = module.params
    kept = admin.load_services(params["services_dir"])
    known = ", ".join(svc["label"] for svc in kept) or "none"
    if params["service"] is not None:
        svc = admin.load_service(params["services_dir"], params["service"])
        if svc is None:
            module.fail_json(msg="service: %r is not a virtual service of this load balancer (its services: %s)"
                             % (params["service"], known))
        return [svc]
    chosen = [svc for svc in kept if params["server"] in [rs["label"] for rs in svc["real_servers"]]]
    if not chosen:
        module.fail_json(msg="server: %r is not a real server of any virtual service of this load balancer"
                         " (its services: %s)" % (params["server"], known))
    return chosen


def set_service(module, svc, result):
    """Set the requested state in one service; adds to ``result``."""
    params = module.params
    current = admin.read_service(params["admin_dir"], svc["label"])
    wanted = desired_states(module, svc, current)
    changes = dict((label, pair) for label, pair in wanted.items() if pair[0] != pair[1])
    result["changed"] = result["changed"] or bool(changes)
    result["servers"] += [
        {"service": svc["label"], "label": label, "state": after["state"], "weight": after["weight"],
         "before_state": before["state"], "before_weight": before["weight"]}
        for label, (before, after) in sorted(wanted.items())]
    result["diff"] += [dict(before_header=admin.path(params["admin_dir"], svc["label"], label),
                            after_header=admin.path(params["admin_dir"], svc["label"], label),
                            before=admin.render(before["state"], before["weight"]) or "",
                            after=admin.render(after["state"], after["weight"]) or "")
                       for label, (before, after) in sorted(changes.items())]
    if module.check_mode:
        return
    states = dict(current)
    states.update((label, after) for label, (_before, after) in wanted.items())
    for label, (_before, after) in sorted(changes.items()):
        admin.write_atomic(admin.path(params["admin_dir"], svc["label"], label),
                           admin.render(after["state"], after["weight"]))
    # Applied also without a change of the file: an engine that lost the state
    # (a fragment written by hand, a table edited) gets it back.
    with engines.for_engine(module, svc["engine"]):
        if svc["engine"] == "haproxy":
            if apply_haproxy(module, svc, states, changes or wanted):
                result["reloaded"] = result["changed"] = True
        else:
            apply_keepalived(module, svc, states, changes or wanted)


def main():
    argument_spec = dict(
        service=dict(type="str"),
        server=dict(type="str"),
        state=dict(type="str", choices=list(admin.STATES)),
        weight=dict(type="raw"),
        wait=dict(type="bool", default=False),
        wait_timeout=dict(type="int", default=300),
        stats_socket=dict(type="path", default="/run/haproxy/admin.sock"),
    )
    argument_spec.update(engines.ENGINE_ARGS)
    module = AnsibleModule(argument_spec=argument_spec,
                           required_one_of=[("state", "weight"), ("service", "server")],
                           supports_check_mode=True)
    params = module.params
    services = select_services(module)
    result = dict(changed=False, reloaded=False, servers=[], diff=[],
                  engine=services[0]["engine"] if len(services) == 1 else "mixed")
    for svc in services:
        set_service(module, svc, result)
    if not module._diff:
        del result["diff"]
    if params["wait"]:
        deadline = time.time() + params["wait_timeout"]
        left = connections(module, services) if not module.check_mode else 0
        while left and time.time() < deadline:
            time.sleep(1)
            left = connections(module, services)
        result["connections"] = left
        if left:
            module.fail_json(msg="%s still had %d connections after %ds (the state stays applied)"
                             % (", ".join(sorted(set(s["label"] for s in result["servers"]))), left,
                                params["wait_timeout"]), **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
