# -*- coding: utf-8 -*-
# Copyright: (c) 2026, lbstack.rabbitmq contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Validate the whole deployment model on the controller, before any host changes."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible_collections.lbstack.rabbitmq.plugins.module_utils import model

ARGSPEC = dict(
    services=dict(type="list", elements="raw"),
    load_balancers_group=dict(type="str", default="load_balancers"),
    rabbitmq_group=dict(type="str", default="rabbitmq"),
)

# Variables an HA pair must agree on: each member renders the same services
# and speaks the same VRRP.
PAIR_VARIABLES = ("lbstack_virtual_services",)
PAIR_PREFIX = "load_balancer_vrrp_"


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        validation = ArgumentSpecValidator(ARGSPEC).validate(self._task.args)
        if validation.error_messages:
            raise AnsibleActionFail("; ".join(validation.error_messages))
        args = validation.validated_parameters
        hostvars = task_vars["hostvars"]
        groups = task_vars["groups"]

        def var(host, name, default=None):
            value = hostvars[host].get(name, default)
            return self._templar.template(value)

        services = args["services"]
        if services is None:
            services = var(task_vars["inventory_hostname"], "lbstack_virtual_services", [])
        balancers = groups.get(args["load_balancers_group"], [])
        inventory = {
            "groups": dict((name, list(hosts)) for name, hosts in groups.items()),
            "addresses": dict(
                (host, {"ip": var(host, "lbstack_rip") or var(host, "ansible_host") or host,
                        "ip6": var(host, "lbstack_rip6") or var(host, "lbstack_ipv6")})
                for host in hostvars.keys()),
            "load_balancers": dict(
                (host, [var(host, "ansible_host"), var(host, "lbstack_ipv6")])
                for host in balancers),
        }
        brokers = groups.get(args["rabbitmq_group"], [])
        heartbeat = model.DEFAULT_AMQP_HEARTBEAT
        if brokers:
            heartbeat = var(brokers[0], "rabbitmq_cluster_heartbeat", heartbeat)
        try:
            normalized = model.normalize_services(
                services, inventory, heartbeat,
                platform=var(task_vars["inventory_hostname"], "lbstack_platform"))
            model.check_pair(dict(
                (host, dict((name, var(host, name)) for name in hostvars[host].keys()
                            if name in PAIR_VARIABLES or name.startswith(PAIR_PREFIX)))
                for host in balancers))
        except model.ModelError as exc:
            result.update(failed=True, msg=str(exc), field=exc.field)
            return result
        result.update(changed=False, services=normalized,
                      msg="%d virtual service(s) valid" % len(normalized))
        return result
