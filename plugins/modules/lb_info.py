#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, lbstack.rabbitmq contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: lb_info
short_description: Read the state of a load balancer (the System Overview)
version_added: 0.1.0
description:
  - Read-only. Reports whether this load balancer holds the VIPs (VRRP MASTER) and each
    virtual service with its real servers' health, weight and current connections.
  - Layer 7 services come from HAProxy's stats socket, Layer 4 Direct Routing services from
    the kernel's IPVS table (C(ipvsadm -Ln --exact)).
author:
  - lbstack.rabbitmq contributors (@lbstack)
options:
  vips:
    description:
      - The VIPs to look for on this host; holding any of them means MASTER.
      - Empty, the VIPs of the services this host keeps in O(services_dir).
    type: list
    elements: str
    default: []
  stats_socket:
    description: HAProxy's stats socket.
    type: path
    default: /run/haproxy/admin.sock
  dr_services:
    description:
      - The C(l4_dr) virtual services to look up in the IPVS table, normalized (the output
        of the M(lbstack.rabbitmq.preflight) action). A real server that the health checks
        took out of the table is reported C(DOWN).
      - Empty, the services this host keeps in O(services_dir) (written by
        M(lbstack.rabbitmq.virtual_service)).
    type: list
    elements: dict
    default: []
  services_dir:
    description: Where this host keeps the model of each virtual service it serves.
    type: path
    default: /var/lib/lbstack/services
  admin_dir:
    description: Where this host keeps an operator's admin state of each real server.
    type: path
    default: /var/lib/lbstack/admin
  feedback_reply_dir:
    description:
      - Where the Direct Routing feedback checker records each agent's last reply (one file per
        real server address and agent port). Layer 7 replies come from HAProxy itself.
    type: path
    default: /run/lbstack/feedback
extends_documentation_fragment: []
attributes:
  check_mode:
    support: full
    description: Reads only.
  diff_mode:
    support: none
    description: Nothing to show.
"""

EXAMPLES = r"""
- name: Read the load balancer state (the services it keeps, their VIPs)
  lbstack.rabbitmq.lb_info:
  register: lb

- name: Whether this host holds a given VIP
  lbstack.rabbitmq.lb_info:
    vips: [198.18.0.100]
  register: lb
"""

RETURN = r"""
vrrp_state:
  description: C(MASTER) when this host holds at least one of O(vips), else C(BACKUP).
  returned: always
  type: str
  sample: MASTER
standby_hold:
  description:
    - Whether an operator holds this balancer in standby (VRRP priority 1, see C(playbooks/balancer_standby.yml));
      null when the hold file has a value other than 0 or 1.
  returned: always
  type: bool
  sample: false
held_vips:
  description: The VIPs of O(vips) this host holds.
  returned: always
  type: list
  elements: str
services:
  description:
    - Virtual services (Layer 7 and Layer 4) with status, connections and real servers.
    - Each service has its C(mode), C(vip), C(vip6) and C(ports) (from the model this host keeps)
      and C(admin_state) (C(halted) or C(drained) when every real server is, else C(online)).
    - Each real server has its health, its current C(weight) (what the engine uses now, which the
      feedback agent moves) and C(configured_weight), its connections, its C(admin_state)
      (C(online), C(drained), C(halted), set by M(lbstack.rabbitmq.real_server)) and C(weight_override),
      and where the service uses the feedback agent the agent's last reply (C(agent)).
  returned: always
  type: list
  elements: dict
  sample:
    - label: RabbitMQ_HA
      status: OPEN
      mode: l7_snat
      vip: 198.18.0.100
      vip6: "2001:db8:18::100"
      ports: [5672]
      admin_state: online
      conns: 2
      real_servers:
        - {label: rabbit1, address: "198.18.0.21:5672", health: UP, check: L7OK, weight: 37,
           configured_weight: 100, admin_state: online, weight_override: null, agent: "37%", conns: 1}
"""

import ipaddress
import json
import os
import socket

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.lbstack.rabbitmq.plugins.module_utils import admin, haproxy, keepalived, model


def host_addresses(module):
    ip = module.get_bin_path("ip", required=True)
    rc, out, err = module.run_command([ip, "-j", "addr", "show"])
    if rc != 0:
        module.fail_json(msg="ip addr failed", stderr=err)
    found = set()
    for link in json.loads(out or "[]"):
        for addr in link.get("addr_info", []):
            found.add(str(ipaddress.ip_address(addr["local"])))
    return found


def ask_agent(address, port, timeout=1.0):
    """One poll of a feedback agent (HAProxy's agent-check grammar): its reply line."""
    try:
        with socket.create_connection((address, port), timeout) as sock:
            sock.settimeout(timeout)
            data = b""
            while b"\n" not in data and len(data) < 512:
                chunk = sock.recv(512)
                if not chunk:
                    break
                data += chunk
    except (IOError, OSError) as exc:
        return "no answer (%s)" % (exc.strerror or exc.__class__.__name__)
    return data.decode("utf-8", "replace").strip()


def haproxy_services(sock):
    """The Layer 7 overview from HAProxy's stats socket, with each server's
    configured weight and what its feedback agent answers now."""
    rows = haproxy.parse_show_stat(haproxy.socket_command(sock, "show stat"))
    states = haproxy.parse_servers_state(haproxy.socket_command(sock, "show servers state"))
    replies = {}
    for key, state in states.items():
        if state["agent_port"]:
            address = state["address"] if state["agent_address"] in ("-", "") else state["agent_address"]
            replies[key] = ask_agent(address, state["agent_port"])
    return haproxy.overview(rows, states, replies)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            vips=dict(type="list", elements="str", default=[]),
            stats_socket=dict(type="path", default="/run/haproxy/admin.sock"),
            dr_services=dict(type="list", elements="dict", default=[]),
            feedback_reply_dir=dict(type="path", default=keepalived.FEEDBACK_REPLY_DIR),
            services_dir=dict(type="path", default=admin.SERVICES_DIR),
            admin_dir=dict(type="path", default=admin.ADMIN_DIR),
        ),
        supports_check_mode=True,
    )
    kept = admin.load_services(module.params["services_dir"])
    vips = [str(ipaddress.ip_address(v)) for v in module.params["vips"] or [
        svc[key] for svc in kept for key in ("vip", "vip6") if svc.get(key)]]
    held = sorted(set(vips) & host_addresses(module))
    services = []
    sock = module.params["stats_socket"]
    if os.path.exists(sock):
        try:
            services = haproxy_services(sock)
        except (IOError, OSError) as exc:
            module.warn("cannot read HAProxy stats from %s: %s" % (sock, exc))
    states = dict((svc["label"], admin.read_service(module.params["admin_dir"], svc["label"])) for svc in kept)
    dr = [svc for svc in kept if svc["mode"] == "l4_dr"]
    if module.params["dr_services"]:
        try:
            dr = [model.normalize_service(i, raw, {}) for i, raw in enumerate(module.params["dr_services"])]
        except model.ModelError as exc:
            module.fail_json(msg=str(exc).replace("lbstack_virtual_services", "dr_services"))
        states.update((svc["label"], admin.read_service(module.params["admin_dir"], svc["label"])) for svc in dr)
    if dr:
        ipvsadm = module.get_bin_path("ipvsadm")
        if ipvsadm is None:
            module.warn("ipvsadm is not installed; the Layer 4 services cannot be read")
        else:
            rc, out, err = module.run_command([ipvsadm, "-Ln", "--exact"])
            if rc != 0:
                module.warn("ipvsadm -Ln failed: %s" % err.strip())
            else:
                services += keepalived.overview(dr, keepalived.parse_ipvsadm(out),
                                                keepalived.read_replies(module.params["feedback_reply_dir"]),
                                                states)
    admin.describe(services, dict((svc["label"], svc) for svc in kept + dr), states)
    module.exit_json(changed=False, vrrp_state="MASTER" if held else "BACKUP",
                     standby_hold=admin.standby_hold(), held_vips=held, services=services)


if __name__ == "__main__":
    main()
