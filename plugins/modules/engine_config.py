#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, lbstack.rabbitmq contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: engine_config
short_description: Manage the main configuration file of HAProxy or keepalived
version_added: 0.1.0
description:
  - Writes the main configuration file of an engine (C(haproxy.cfg), C(keepalived.conf)) the
    same way M(lbstack.rabbitmq.virtual_service) writes a service fragment - the whole
    configuration, with every fragment, is validated before the file is written; the engine is
    reloaded gracefully (never restarted) when it runs; the reload is confirmed.
  - Confirmation - HAProxy, a worker that did not exist before the reload, current on the master
    CLI; keepalived, the kernel's IPVS table serves every service in O(services) as rendered.
  - When the confirmation fails, the previous file is put back, the engine is reloaded again
    and the task fails; the next run tries the change again.
author:
  - lbstack.rabbitmq contributors (@lbstack)
options:
  engine:
    description: The engine whose main file this is.
    type: str
    required: true
    choices: [haproxy, keepalived]
  content:
    description: The whole file.
    type: str
    required: true
  services:
    description:
      - keepalived only. The normalized C(l4_dr) services the IPVS table must serve after the
        reload (normally every Layer 4 service of the model).
    type: list
    elements: dict
    default: []
extends_documentation_fragment:
  - lbstack.rabbitmq.engine
"""

EXAMPLES = r"""
- name: Write haproxy.cfg, reload and confirm
  lbstack.rabbitmq.engine_config:
    engine: haproxy
    content: "{{ lookup('ansible.builtin.template', 'haproxy.cfg.j2') }}"
"""

RETURN = r"""
path:
  description: The file.
  returned: always
  type: str
  sample: /etc/haproxy/haproxy.cfg
reloaded:
  description: Whether the engine was reloaded.
  returned: always
  type: bool
rolled_back:
  description: The files put back after a change that did not take effect.
  returned: failure
  type: list
  elements: str
"""

import os

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.lbstack.rabbitmq.plugins.module_utils import engine as engines
from ansible_collections.lbstack.rabbitmq.plugins.module_utils import admin, model


def main():
    argument_spec = dict(
        engine=dict(type="str", required=True, choices=sorted(engines.ENGINES)),
        content=dict(type="str", required=True),
        services=dict(type="list", elements="dict", default=[]),
    )
    argument_spec.update(engines.ENGINE_ARGS)
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    params = module.params
    engine = params["engine"]
    engines.fill_defaults(params, engine)
    try:
        services = [model.normalize_service(i, raw, {}) for i, raw in enumerate(params["services"])]
    except model.ModelError as exc:
        module.fail_json(msg=str(exc).replace("lbstack_virtual_services", "services"))
    # Only the services whose fragment is already written as rendered can be in
    # force after this reload (on a first deploy the fragments come next).
    in_force = [s for s in services if s["engine"] == "keepalived" and engines.read_text(
        os.path.join(params["fragment_dir"], s["label"] + engines.ENGINES[engine]["suffix"]))
        == engines.render_fragment(params, s, admin.read_service(params["admin_dir"], s["label"]))]
    engines.change(module, engine, params["config_file"], params["content"], services=in_force)


if __name__ == "__main__":
    main()
