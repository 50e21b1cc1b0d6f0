#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, lbstack.rabbitmq contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: virtual_service
short_description: Manage one load-balanced virtual service (VIP) and its real servers
version_added: 0.1.0
description:
  - Renders one virtual service of the C(lbstack_virtual_services) model into the
    configuration fragment of its engine, HAProxy for C(l7_snat) and keepalived/IPVS
    (C(virtual_server) blocks with C(lb_kind DR)) for C(l4_dr).
  - The whole engine configuration, with the new fragment in place, is validated
    before the fragment is written; a configuration the daemon would reject never
    reaches it.
  - When the fragment changes, the engine is reloaded gracefully (never restarted),
    so established AMQP connections stay open, and the reload is confirmed (HAProxy,
    a worker that did not exist before, current on the master CLI; keepalived, the kernel's
    IPVS table holds every VIP:port with its scheduler and persistence, every real server
    whose health check passes now with its weight, and nothing that is not rendered).
  - When the confirmation fails, the previous fragment is put back, the engine is reloaded
    again and the task fails; the next run tries the change again.
  - An operator's admin state of a real server (drained, halted, a weight set by
    M(lbstack.rabbitmq.real_server), kept in O(admin_dir)) is part of the rendering, so a run of
    this module never undoes it. The service's normalized model is kept in O(services_dir) for
    the day-2 modules; O(state=absent) removes it and the service's admin states.
author:
  - lbstack.rabbitmq contributors (@lbstack)
options:
  label:
    description: The virtual service label, as in the model. Names the fragment file.
    type: str
    required: true
  state:
    description: Whether the virtual service exists.
    type: str
    choices: [present, absent]
    default: present
  service:
    description:
      - The virtual service, with the fields of one C(lbstack_virtual_services) entry
        and an explicit C(real_servers) list. Required with O(state=present).
      - Normally the normalized output of the M(lbstack.rabbitmq.preflight) action.
    type: dict
  engine:
    description:
      - The engine that serves the service. Defaults to the engine of O(service)'s mode
        (C(l7_snat) is C(haproxy), C(l4_dr) is C(keepalived)); needed with O(state=absent)
        for a keepalived service.
    type: str
    choices: [haproxy, keepalived]
extends_documentation_fragment:
  - lbstack.rabbitmq.engine
notes:
  - keepalived 2.2.7's C(-t) exits 0 for some broken files (fixed upstream in 2.2.8), so any
    message it prints also counts as a rejected configuration.
"""

EXAMPLES = r"""
- name: Put RabbitMQ behind HAProxy on a VIP
  lbstack.rabbitmq.virtual_service:
    label: RabbitMQ_HA
    service:
      label: RabbitMQ_HA
      vip: 198.18.0.100
      ports: [5672]
      mode: l7_snat
      real_servers:
        - {label: rabbit1, ip: 198.18.0.21}
        - {label: rabbit2, ip: 198.18.0.22, weight: 50}

- name: The same brokers behind IPVS Direct Routing
  lbstack.rabbitmq.virtual_service:
    label: RabbitMQ_DR
    service:
      label: RabbitMQ_DR
      vip: 198.18.0.101
      ports: [5672]
      mode: l4_dr
      check_interval: 1
      real_servers:
        - {label: rabbit1, ip: 198.18.0.21}
        - {label: rabbit2, ip: 198.18.0.22}

- name: Remove a virtual service
  lbstack.rabbitmq.virtual_service:
    label: Old_VIP
    engine: keepalived
    state: absent
"""

RETURN = r"""
path:
  description: The fragment file of the virtual service.
  returned: always
  type: str
  sample: /etc/haproxy/services.d/RabbitMQ_HA.cfg
engine:
  description: The engine that serves the service.
  returned: always
  type: str
  sample: haproxy
rolled_back:
  description: The files put back after a change that did not take effect (on failure).
  returned: failure
  type: list
  elements: str
reloaded:
  description: Whether the engine was reloaded.
  returned: always
  type: bool
  sample: true
"""

import os

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.lbstack.rabbitmq.plugins.module_utils import engine as engines
from ansible_collections.lbstack.rabbitmq.plugins.module_utils import admin, keepalived, model


def main():
    argument_spec = dict(
        label=dict(type="str", required=True),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        service=dict(type="dict"),
        engine=dict(type="str", choices=sorted(engines.ENGINES)),
    )
    argument_spec.update(engines.ENGINE_ARGS)
    module = AnsibleModule(argument_spec=argument_spec,
                           required_if=[("state", "present", ["service"])],
                           supports_check_mode=True)
    params = module.params
    svc = None
    engine = params["engine"]
    if params["state"] == "present":
        raw = dict(params["service"])
        raw.setdefault("label", params["label"])
        try:
            svc = model.normalize_service(0, raw, {})
        except model.ModelError as exc:
            module.fail_json(msg=str(exc).replace("lbstack_virtual_services[0]", "service"))
        if svc["label"] != params["label"]:
            module.fail_json(msg="service.label: %r differs from label %r"
                             % (svc["label"], params["label"]))
        if engine is not None and engine != svc["engine"]:
            module.fail_json(msg="service.mode: %r is served by %s, not by engine %s"
                             % (svc["mode"], svc["engine"], engine))
        engine = svc["engine"]
    engine = engine or "haproxy"
    engines.fill_defaults(params, engine)
    desired = None
    if svc is not None:
        desired = engines.render_fragment(params, svc, admin.read_service(params["admin_dir"], svc["label"]))
    path = os.path.join(params["fragment_dir"], params["label"] + engines.ENGINES[engine]["suffix"])
    # The balancer keeps each service's model for the day-2 modules (real_server, lb_info).
    # A service that moved to the other engine keeps them when its old fragment goes.
    model_path = os.path.join(params["services_dir"], params["label"] + ".json")
    kept = admin.load_service(params["services_dir"], params["label"])
    model_text = admin.service_json(svc) if svc is not None else None
    if svc is None and kept is not None and kept.get("engine") != engine:
        model_text = engines.read_text(model_path)
    model_changed = engines.read_text(model_path) != model_text
    if model_changed and not module.check_mode:
        admin.write_atomic(model_path, model_text)
        if svc is None:
            admin.remove_service(params["admin_dir"], params["label"])
    # A service that is gone (or whose VIP:port moved) must leave the IPVS table.
    wanted = set(keepalived.expected_table(svc)) if svc else set()
    absent = keepalived.fragment_endpoints(engines.read_text(path)) - wanted
    engines.change(module, engine, path, desired, services=[svc] if svc else [], absent=absent,
                   result={"engine": engine, "changed": model_changed})


if __name__ == "__main__":
    main()
