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
    a new worker on the master CLI; keepalived, the VIP ports in the kernel's IPVS table).
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
  config_file:
    description:
      - The engine's main configuration file, used to validate the whole configuration.
      - Default C(/etc/haproxy/haproxy.cfg) or C(/etc/keepalived/keepalived.conf).
    type: path
  fragment_dir:
    description:
      - Directory of per-service fragments, loaded by the engine with O(config_file)
        (keepalived, an C(include) of C(*.conf) in this directory).
      - Default C(/etc/haproxy/services.d) or C(/etc/keepalived/services.d).
    type: path
  reload:
    description: Reload the engine gracefully when the fragment changed and the engine runs.
    type: bool
    default: true
  unit:
    description: The systemd unit of the engine. Default C(haproxy.service) or C(keepalived.service).
    type: str
  master_socket:
    description:
      - HAProxy's master CLI socket, used to confirm that a reload brought up a new worker
        (a failed reload otherwise goes unnoticed in master-worker mode).
    type: path
    default: /run/haproxy-master.sock
  amqp_checker:
    description:
      - keepalived only. The AMQP checker that C(MISC_CHECK) runs as C(CHECKER ADDRESS PORT)
        (the load_balancer role installs it).
    type: path
    default: /usr/local/libexec/lbstack/amqp-check
extends_documentation_fragment: []
attributes:
  check_mode:
    support: full
    description: Reports what would change and validates the would-be configuration.
  diff_mode:
    support: full
    description: Shows the fragment before and after.
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
from ansible_collections.lbstack.rabbitmq.plugins.module_utils import haproxy, keepalived, model

ENGINES = {
    "haproxy": {"config_file": "/etc/haproxy/haproxy.cfg", "fragment_dir": "/etc/haproxy/services.d",
                "unit": "haproxy.service", "suffix": ".cfg", "mode": "l7_snat"},
    "keepalived": {"config_file": "/etc/keepalived/keepalived.conf",
                   "fragment_dir": "/etc/keepalived/services.d",
                   "unit": "keepalived.service", "suffix": ".conf", "mode": "l4_dr"},
}


def read_text(path):
    try:
        with open(path) as handle:
            return handle.read()
    except (IOError, OSError):
        return None


def validate(module, engine, desired, path):
    """Check the engine's whole configuration with ``desired`` in place of ``path``."""
    binary = module.get_bin_path(engine)
    if binary is None:
        if module.check_mode:
            module.warn("%s is not installed yet; the configuration was not validated" % engine)
            return
        module.fail_json(msg="%s is not installed; cannot validate the configuration" % engine)
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
        if engine == "haproxy":
            rc, out, err = module.run_command(
                [binary, "-c", "-q", "-f", module.params["config_file"], "-f", staged])
            rejected = rc != 0
        else:
            # A copy of the main file whose include of the fragment directory points at
            # the staged one; keepalived 2.2.7's -t can exit 0 on a broken file, so any
            # message counts as a rejection too.
            main = read_text(module.params["config_file"])
            if main is None:
                if module.check_mode:
                    module.warn("%s does not exist yet; the configuration was not validated"
                                % module.params["config_file"])
                    return
                module.fail_json(msg="%s does not exist; cannot validate the configuration"
                                 % module.params["config_file"])
            fragment_dir = module.params["fragment_dir"].rstrip("/")
            if fragment_dir + "/" not in main:
                module.fail_json(msg="%s does not include %s/: the service would not be loaded"
                                 % (module.params["config_file"], fragment_dir))
            staged_main = os.path.join(workdir, "keepalived.conf")
            with open(staged_main, "w") as handle:
                handle.write(main.replace(fragment_dir + "/", staged + "/"))
            rc, out, err = module.run_command([binary, "-t", "-l", "-f", staged_main])
            rejected = rc != 0 or bool((out + err).strip())
        if rejected:
            module.fail_json(msg="%s rejects the configuration; nothing was changed" % engine,
                             rc=rc, stdout=out, stderr=err, rendered=desired)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def ipvs_endpoints(module):
    """The (address, port) of every TCP virtual service in the kernel's IPVS table."""
    ipvsadm = module.get_bin_path("ipvsadm")
    if ipvsadm is None:
        return None
    rc, out, err = module.run_command([ipvsadm, "-Ln", "--exact"])
    if rc != 0:
        return None
    return set((v["vip"], v["port"]) for v in keepalived.parse_ipvsadm(out) if v["protocol"] == "tcp")


def systemctl_reload(module):
    """Reload the engine's unit if it runs; False when it does not run."""
    systemctl = module.get_bin_path("systemctl", required=True)
    rc = module.run_command([systemctl, "is-active", "--quiet", module.params["unit"]])[0]
    if rc != 0:
        return False
    rc, out, err = module.run_command([systemctl, "reload", module.params["unit"]])
    if rc != 0:
        module.fail_json(msg="reload of %s failed" % module.params["unit"], stdout=out, stderr=err)
    return True


def reload_keepalived(module, endpoints, present):
    """Reload keepalived (SIGHUP) and wait until the IPVS table shows the service
    (``present``) or no longer shows it."""
    if not systemctl_reload(module):
        return False
    deadline = time.time() + 15
    table = None
    while time.time() < deadline:
        table = ipvs_endpoints(module)
        if table is None:
            module.warn("ipvsadm cannot read the IPVS table; the reload was not confirmed")
            return True
        if (endpoints <= table) if present else not (endpoints & table):
            return True
        time.sleep(0.2)
    module.fail_json(msg="keepalived did not %s the IPVS virtual services %s after the reload (see"
                     " journalctl -u %s)" % ("add" if present else "remove",
                                             ", ".join("%s:%d" % e for e in sorted(endpoints)),
                                             module.params["unit"]),
                     ipvs=sorted("%s:%d" % e for e in table or ()))


def reload_engine(module):
    """Reload gracefully and confirm that the new worker took over.

    In master-worker mode ``systemctl reload`` succeeds even when the new
    configuration fails to load at run time (the old worker simply stays), so
    the master CLI is asked which worker is current.
    """
    if not systemctl_reload(module):
        return False
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


def service_endpoints(svc):
    return set((vip, port) for vip in (svc.get("vip"), svc.get("vip6")) if vip for port in svc["ports"])


def main():
    module = AnsibleModule(
        argument_spec=dict(
            label=dict(type="str", required=True),
            state=dict(type="str", choices=["present", "absent"], default="present"),
            service=dict(type="dict"),
            engine=dict(type="str", choices=sorted(ENGINES)),
            config_file=dict(type="path"),
            fragment_dir=dict(type="path"),
            reload=dict(type="bool", default=True),
            unit=dict(type="str"),
            master_socket=dict(type="path", default="/run/haproxy-master.sock"),
            amqp_checker=dict(type="path", default="/usr/local/libexec/lbstack/amqp-check"),
        ),
        required_if=[("state", "present", ["service"])],
        supports_check_mode=True,
    )
    params = module.params
    desired = None
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
        by_mode = [name for name, e in ENGINES.items() if e["mode"] == svc["mode"]][0]
        if engine is not None and engine != by_mode:
            module.fail_json(msg="service.mode: %r is served by %s, not by engine %s"
                             % (svc["mode"], by_mode, engine))
        engine = by_mode
    engine = engine or "haproxy"
    for key in ("config_file", "fragment_dir", "unit"):
        if params[key] is None:
            params[key] = ENGINES[engine][key]
    if svc is not None:
        desired = (haproxy.render_service(svc) if engine == "haproxy"
                   else keepalived.render_service(svc, params["amqp_checker"]))

    path = os.path.join(params["fragment_dir"], params["label"] + ENGINES[engine]["suffix"])
    current = read_text(path)
    result = dict(changed=current != desired, path=path, engine=engine, reloaded=False)
    if module._diff:
        result["diff"] = dict(before=current or "", after=desired or "",
                              before_header=path, after_header=path)
    if not result["changed"]:
        module.exit_json(**result)

    validate(module, engine, desired, path)
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
        if engine == "haproxy":
            result["reloaded"] = reload_engine(module)
        else:
            endpoints = service_endpoints(svc) if svc else keepalived.fragment_endpoints(current)
            result["reloaded"] = reload_keepalived(module, endpoints, svc is not None)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
