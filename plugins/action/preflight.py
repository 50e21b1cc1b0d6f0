# -*- coding: utf-8 -*-
# Copyright: (c) 2026, lbstack.rabbitmq contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Validate the whole deployment model on the controller, before any host changes."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible_collections.lbstack.rabbitmq.plugins.module_utils import model, settings
from ansible_collections.lbstack.rabbitmq.plugins.plugin_utils import tls

# Each role whose variables the preflight checks: its rules (settings.py) and
# whether it runs on the load balancers, the brokers or both.
ROLES = {
    "load_balancer": (settings.LOAD_BALANCER, True, False),
    "rabbitmq_cluster": (settings.RABBITMQ_CLUSTER, False, True),
    "real_server": (settings.REAL_SERVER, False, True),
    "feedback_agent": (settings.FEEDBACK_AGENT, False, True),
    "firewall": (settings.FIREWALL, True, True),
}
ARGSPEC = dict(
    services=dict(type="list", elements="raw"),
    load_balancers_group=dict(type="str", default="load_balancers"),
    rabbitmq_group=dict(type="str", default="rabbitmq"),
    windows_group=dict(type="str", default="windows_real_servers"),
    roles=dict(type="list", elements="str", choices=list(ROLES), default=list(ROLES)),
)

# What the two members of an HA pair must agree on, with the load_balancer
# role's defaults (tests/unit checks them against roles/load_balancer/defaults):
# the same virtual services (so the same VIPs and engines) and the same VRRP
# instance. Interfaces, priorities and addresses may differ.
PAIR_VARIABLES = {
    "lbstack_virtual_services": None,
    "load_balancer_vrrp_router_id": 51,
    "load_balancer_vrrp_advert_interval": 0.05,
}
# The rabbitmq_cluster role's defaults for what the real servers must match.
BROKER_DEFAULTS = {"rabbitmq_cluster_port": 5672, "rabbitmq_cluster_proxy_protocol": False,
                   "rabbitmq_cluster_tls": False, "rabbitmq_cluster_tls_port": 5671,
                   "rabbitmq_cluster_heartbeat": model.DEFAULT_AMQP_HEARTBEAT}


def gather_inventory(var, groups, balancers, brokers, services):
    """The inventory view the model needs, from host variables and gathered facts
    (``var(host, name, default)`` reads one, templated): the service network
    addresses of the load balancers, the brokers and every member of a group
    that a service takes its real servers from."""
    members = set(balancers) | set(brokers)
    for svc in services if isinstance(services, list) else []:
        if isinstance(svc, dict) and svc.get("real_servers_group"):
            members.update(groups.get(svc["real_servers_group"]) or [])
    addresses = {}
    for host in sorted(members):
        addresses[host] = model.host_addresses(
            host, dict((name, var(host, name)) for name in
                       ("lbstack_ip", "lbstack_ipv6", "lbstack_rip", "lbstack_rip6", "ansible_host")),
            var(host, "ansible_facts") or {})
    return {
        "groups": dict((name, list(hosts)) for name, hosts in groups.items()),
        "addresses": addresses,
        "load_balancers": dict((host, [addresses[host]["ip"], addresses[host]["ip6"]])
                               for host in balancers),
        "brokers": dict((host, {"port": var(host, "rabbitmq_cluster_port"),
                                "tls_port": var(host, "rabbitmq_cluster_tls_port")
                                if var(host, "rabbitmq_cluster_tls") else None,
                                "proxy_protocol": var(host, "rabbitmq_cluster_proxy_protocol")})
                        for host in brokers),
    }


def check_role_settings(var, balancers, brokers, roles=None):
    """The variables the inventory sets for ``roles`` (all by default) on the
    hosts they run on (ROLES; rules in settings.py), with the interfaces named
    checked against gathered facts."""
    roles = list(ROLES) if roles is None else roles
    for hosts, index in ((balancers, 1), (brokers, 2)):
        wanted = [ROLES[role][0] for role in roles if ROLES[role][index]]
        for host in hosts if wanted else []:
            values = {}
            for table in wanted:
                for name in table:
                    value = var(host, name, settings.UNSET)
                    if value is not settings.UNSET and value is not None:
                        values[name] = value
            facts = var(host, "ansible_facts") or {}
            settings.check_host(host, values, wanted, facts.get("interfaces"))
            if settings.RABBITMQ_CLUSTER in wanted and settings.as_bool(
                    "rabbitmq_cluster_tls", values.get("rabbitmq_cluster_tls", False), host):
                tls.check_broker(host, values["rabbitmq_cluster_tls_certificate"],
                                 values["rabbitmq_cluster_tls_private_key"],
                                 values.get("rabbitmq_cluster_tls_ca_certificates"))


def check_windows_hosts(groups, windows_group, balancers_group, brokers_group):
    """Windows real servers are prepared (real_server_windows) but run no role
    of the Linux hosts: none may be a broker or a load balancer."""
    windows = set(groups.get(windows_group) or [])
    for group in (brokers_group, balancers_group):
        both = sorted(windows & set(groups.get(group) or []))
        if both:
            raise model.ModelError(
                windows_group, "%s %s also in group %s: the collection installs no RabbitMQ and no load balancer"
                " on Windows (a Windows host is a Direct Routing real server only; take it out of %s)"
                % (", ".join(both), "is" if len(both) == 1 else "are", group, group))


def compute_model(var, groups, balancers_group, brokers_group, services, source, roles=None,
                  windows_group="windows_real_servers"):
    """The normalized model, checked by every rule that needs the inventory.

    ``var(host, name, default=None)`` reads one host variable (or fact),
    templated, with the rabbitmq_cluster defaults of BROKER_DEFAULTS;
    ``source`` is the host whose variables describe the service (the first
    load balancer); ``roles``: whose variables to check (all by default). Returns ``(normalized services, inventory view)``; raises
    ``model.ModelError``.
    """
    balancers = list(groups.get(balancers_group, []))
    brokers = list(groups.get(brokers_group, []))
    check_windows_hosts(groups, windows_group, balancers_group, brokers_group)
    for host in balancers + brokers:
        facts = var(host, "ansible_facts") or {}
        if facts.get("distribution"):
            model.check_platform(host, facts)
    check_role_settings(var, balancers, brokers, roles)
    inventory = gather_inventory(var, groups, balancers, brokers, services)
    heartbeat = var(brokers[0], "rabbitmq_cluster_heartbeat") if brokers \
        else BROKER_DEFAULTS["rabbitmq_cluster_heartbeat"]
    normalized = model.normalize_services(services, inventory, heartbeat, platform=var(source, "lbstack_platform"))
    model.check_pair(dict(
        (host, dict((name, var(host, name, default)) for name, default in PAIR_VARIABLES.items()))
        for host in balancers))
    if any(s["mode"] == "l4_dr" for s in normalized):
        for host in balancers:
            facts = var(host, "ansible_facts") or {}
            if not facts.get("interfaces"):
                raise model.ModelError(
                    balancers_group,
                    "no network facts for director %r: run the preflight in a play that"
                    " gathers facts on the load balancers (site.yml does)" % host)
            model.check_director_networks(normalized, host, model.interface_networks(facts))
    agents = model.feedback_agents(normalized, brokers)
    # The agent answers the load balancers (their service addresses) and loopback.
    sources = sorted(set(a for addresses in inventory["load_balancers"].values() for a in addresses if a))
    for agent in agents.values():
        agent["allowed_sources"] = sources
    inventory["feedback_agents"] = agents
    return normalized, inventory


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
        balancers = groups.get(args["load_balancers_group"], [])
        # Variables that describe the service come from the load balancers, where
        # group_vars put them, else from the host this runs for.
        source = balancers[0] if balancers else task_vars["inventory_hostname"]

        def var(host, name, default=None):
            if default is None:
                default = BROKER_DEFAULTS.get(name)
            if name not in hostvars[host]:
                return default
            return self._templar.template(hostvars[host][name])

        services = args["services"]
        if services is None:
            services = var(source, "lbstack_virtual_services", [])
        try:
            normalized, inventory = compute_model(var, groups, args["load_balancers_group"],
                                                  args["rabbitmq_group"], services, source, args["roles"],
                                                  args["windows_group"])
        except model.ModelError as exc:
            result.update(failed=True, msg=str(exc), field=exc.field)
            return result
        view = {"services": normalized, "hosts": inventory["addresses"],
                "feedback_agents": inventory["feedback_agents"]}
        result.update(changed=False, model=view,
                      msg="%d virtual service(s) valid" % len(normalized))
        return result
