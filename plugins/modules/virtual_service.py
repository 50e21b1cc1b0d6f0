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
    configuration fragment of its engine, HAProxy for C(l7_snat).
  - The whole engine configuration, with the new fragment in place, is validated
    before the fragment is written; a configuration the daemon would reject never
    reaches it.
  - When the fragment changes, the engine is reloaded gracefully (never restarted),
    so established AMQP connections stay open.
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
  config_file:
    description: The engine's main configuration file, used to validate the whole configuration.
    type: path
    default: /etc/haproxy/haproxy.cfg
  fragment_dir:
    description: Directory of per-service fragments, loaded by the engine after O(config_file).
    type: path
    default: /etc/haproxy/services.d
  reload:
    description: Reload the engine gracefully when the fragment changed and the engine runs.
    type: bool
    default: true
  unit:
    description: The systemd unit of the engine.
    type: str
    default: haproxy.service
  master_socket:
    description:
      - HAProxy's master CLI socket, used to confirm that a reload brought up a new worker
        (a failed reload otherwise goes unnoticed in master-worker mode).
    type: path
    default: /run/haproxy-master.sock
extends_documentation_fragment: []
attributes:
  check_mode:
    support: full
    description: Reports what would change and validates the would-be configuration.
  diff_mode:
    support: full
    description: Shows the fragment before and after.
notes:
  - Layer 4 Direct Routing (C(l4_dr)) services are rendered for keepalived/IPVS by a later release.
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

- name: Remove a virtual service
  lbstack.rabbitmq.virtual_service:
    label: Old_VIP
    state: absent
"""

RETURN = r"""
path:
  description: The fragment file of the virtual service.
  returned: always
  type: str
  sample: /etc/haproxy/services.d/RabbitMQ_HA.cfg
reloaded:
  description: Whether the engine was reloaded.
  returned: always
  type: bool
  sample: true
"""

import os
import shutil
import tempfile
import time

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.lbstack.rabbitmq.plugins.module_utils import haproxy, model


def read_text(path):
    try:
        with open(path) as handle:
            return handle.read()
    except (IOError, OSError):
        return None


def validate(module, desired, path):
    """Check the whole HAProxy configuration with ``desired`` in place of ``path``."""
    binary = module.get_bin_path("haproxy")
    if binary is None:
        if module.check_mode:
            module.warn("haproxy is not installed yet; the configuration was not validated")
            return
        module.fail_json(msg="haproxy is not installed; cannot validate the configuration")
    workdir = tempfile.mkdtemp(prefix="lbstack-vs-")
    try:
        staged = os.path.join(workdir, "services.d")
        if os.path.isdir(module.params["fragment_dir"]):
            shutil.copytree(module.params["fragment_dir"], staged)
        else:
            os.mkdir(staged)
        target = os.path.join(staged, os.path.basename(path))
        if desired is None:
            if os.path.exists(target):
                os.unlink(target)
        else:
            with open(target, "w") as handle:
                handle.write(desired)
        rc, out, err = module.run_command(
            [binary, "-c", "-q", "-f", module.params["config_file"], "-f", staged])
        if rc != 0:
            module.fail_json(msg="HAProxy rejects the configuration; nothing was changed",
                             rc=rc, stdout=out, stderr=err, rendered=desired)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def reload_engine(module):
    """Reload gracefully and confirm that the new worker took over.

    In master-worker mode ``systemctl reload`` succeeds even when the new
    configuration fails to load at run time (the old worker simply stays), so
    the master CLI is asked which worker is current.
    """
    systemctl = module.get_bin_path("systemctl", required=True)
    rc = module.run_command([systemctl, "is-active", "--quiet", module.params["unit"]])[0]
    if rc != 0:
        return False
    rc, out, err = module.run_command([systemctl, "reload", module.params["unit"]])
    if rc != 0:
        module.fail_json(msg="reload of %s failed" % module.params["unit"], stdout=out, stderr=err)
    master = module.params["master_socket"]
    if not master or not os.path.exists(master):
        module.warn("no HAProxy master socket at %s; the reload was not confirmed" % master)
        return True
    deadline = time.time() + 10
    procs = None
    while time.time() < deadline:
        try:
            procs = haproxy.parse_show_proc(haproxy.socket_command(master, "show proc"))
        except (IOError, OSError):
            procs = None
        if procs and any(w["reloads"] == 0 for w in procs["workers"]):
            return True
        time.sleep(0.2)
    module.fail_json(msg="HAProxy kept its previous worker: the new configuration failed to load"
                     " at run time (see journalctl -u %s); the fragment is written but not"
                     " in service" % module.params["unit"], processes=procs)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            label=dict(type="str", required=True),
            state=dict(type="str", choices=["present", "absent"], default="present"),
            service=dict(type="dict"),
            config_file=dict(type="path", default="/etc/haproxy/haproxy.cfg"),
            fragment_dir=dict(type="path", default="/etc/haproxy/services.d"),
            reload=dict(type="bool", default=True),
            unit=dict(type="str", default="haproxy.service"),
            master_socket=dict(type="path", default="/run/haproxy-master.sock"),
        ),
        required_if=[("state", "present", ["service"])],
        supports_check_mode=True,
    )
    params = module.params
    desired = None
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
        if svc["mode"] != "l7_snat":
            module.fail_json(msg="service.mode: %r is not handled by this release of the module;"
                             " only l7_snat (HAProxy) is" % svc["mode"])
        desired = haproxy.render_service(svc)

    path = os.path.join(params["fragment_dir"], haproxy.fragment_name(params["label"]))
    current = read_text(path)
    result = dict(changed=current != desired, path=path, reloaded=False)
    if module._diff:
        result["diff"] = dict(before=current or "", after=desired or "",
                              before_header=path, after_header=path)
    if not result["changed"]:
        module.exit_json(**result)

    validate(module, desired, path)
    if module.check_mode:
        module.exit_json(**result)

    if desired is None:
        os.unlink(path)
    else:
        if not os.path.isdir(params["fragment_dir"]):
            os.makedirs(params["fragment_dir"], 0o755)
        fd, tmp = tempfile.mkstemp(dir=params["fragment_dir"], prefix=".lbstack-")
        with os.fdopen(fd, "w") as handle:
            handle.write(desired)
        os.chmod(tmp, 0o644)
        module.atomic_move(tmp, path)
    if params["reload"]:
        result["reloaded"] = reload_engine(module)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
