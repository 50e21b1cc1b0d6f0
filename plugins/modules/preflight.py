#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, lbstack.rabbitmq contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: preflight
short_description: Validate the lbstack.rabbitmq model on the controller
version_added: 0.1.0
description:
  - Checks C(lbstack_virtual_services), the real servers it names and the load balancer
    group before any host is changed, and returns the normalized virtual services.
  - "A bad field fails the task with a message that names the field and its value, for
    example C(lbstack_virtual_services[0].vip: '198.18.0.21' is also the IP of real server 'rabbit1')."
  - The rules - valid IPv4/IPv6 addresses; a VIP that is neither a real server's nor a load
    balancer's own address; unique labels and VIP:port pairs; a known mode, scheduler,
    health check and feedback method; weights within the engine's range (HAProxy 0-256,
    IPVS 0-65535); proxy timeouts above twice the AMQP heartbeat; the PROXY protocol only
    on C(l7_snat); no port translation in C(l4_dr); one or two load balancers, and an HA
    pair whose members agree on C(lbstack_virtual_services), C(load_balancer_vrrp_router_id) and
    C(load_balancer_vrrp_advert_interval); brokers that listen on the service's port and use the
    PROXY protocol exactly when it does; a supported OS and init system; a service network address
    for every host; a director interface in every Direct Routing real server's subnet. See docs/model.md.
  - The roles' own variables, for the hosts each role runs on (C(roles)), with ranges and formats an
    argument spec cannot express, for example C(load_balancer_vrrp_router_id) 1-255, a VRRP interface
    the host has (when facts were gathered), an Erlang cookie of 20-255 letters and digits (never shown),
    an administrator other than C(guest). A late role's bad variable stops the run before the first host
    changes.
  - This is an action plugin; it runs on the controller only.
author:
  - lbstack.rabbitmq contributors (@lbstack)
options:
  services:
    description: The virtual services; defaults to the host's C(lbstack_virtual_services).
    type: list
    elements: raw
  load_balancers_group:
    description: Inventory group of the load balancers.
    type: str
    default: load_balancers
  rabbitmq_group:
    description: Inventory group of the brokers; its first host gives C(rabbitmq_cluster_heartbeat).
    type: str
    default: rabbitmq
  windows_group:
    description:
      - Inventory group of the Windows real servers (prepared by the C(real_server_windows) role); none of
        its hosts may be in O(rabbitmq_group) or O(load_balancers_group).
    type: str
    default: windows_real_servers
  roles:
    description:
      - Whose variables to check - C(load_balancer) on the load balancers, C(firewall) on both groups,
        the others on the brokers.
      - C(site.yml) checks all; a role used on its own checks its own.
    type: list
    elements: str
    choices: [load_balancer, rabbitmq_cluster, real_server, feedback_agent, firewall]
    default: [load_balancer, rabbitmq_cluster, real_server, feedback_agent, firewall]
attributes:
  check_mode:
    support: full
    description: Reads only.
  diff_mode:
    support: none
    description: Nothing to show.
"""

EXAMPLES = r"""
- name: Validate the model before any host changes
  lbstack.rabbitmq.preflight:
  register: model
  run_once: true
"""

RETURN = r"""
model:
  description:
    - The model every later play, role and module receives (C(site.yml) sets it as C(lbstack_model)).
    - C(services), the virtual services with defaults, C(engine) and real servers resolved;
      C(hosts), each host's service network addresses (C(ip), C(ip6)).
  returned: success
  type: dict
field:
  description: The field a failure is about.
  returned: failure
  type: str
  sample: lbstack_virtual_services[0].vip
"""
