# -*- coding: utf-8 -*-
# Copyright: (c) 2026, lbstack.rabbitmq contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The roles' own variables, checked on the controller before any host changes.

site.yml's preflight runs these rules for every host of the groups the roles
run on, so a bad value in a role that runs late (the load balancers come after
the brokers) is refused before the first broker is touched. A role's argument
spec only knows types; these rules also know ranges, formats and the values
the daemons accept. Errors start with the variable and name the host; a
secret's value is never shown.

Pure Python, like model.py.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import re

from ansible_collections.lbstack.rabbitmq.plugins.module_utils.model import ModelError

TRUE = ("true", "yes", "on", "1", "y", "t")
FALSE = ("false", "no", "off", "0", "n", "f")
# Debian package versions ([epoch:]upstream[-revision]); empty means the candidate.
PACKAGE_VERSION_RE = re.compile(r"^(([0-9]+:)?[0-9][A-Za-z0-9.+~-]*)?$")
INTERFACE_RE = re.compile(r"^[A-Za-z0-9_.:@-]{1,15}$")
COOKIE_RE = re.compile(r"^[A-Za-z0-9]{20,255}$")
PLUGIN_RE = re.compile(r"^[a-z][a-z0-9_]*$")
USER_RE = re.compile(r"^[A-Za-z0-9_.@+-]{1,255}$")
FEEDBACK_MONITORS = ("cpu", "memory", "connections")
# PEM text: one or more certificates; one private key.
CERTIFICATES_RE = re.compile(r"^\s*(-----BEGIN CERTIFICATE-----[A-Za-z0-9+/=\s]+-----END CERTIFICATE-----\s*)+$")
PRIVATE_KEY_RE = re.compile(r"^\s*-----BEGIN ((RSA|EC|ENCRYPTED) )?PRIVATE KEY-----[A-Za-z0-9+/=\s]+"
                            r"-----END ((RSA|EC|ENCRYPTED) )?PRIVATE KEY-----\s*$")


def _where(host):
    return "host %r: " % host if host else ""


def as_bool(name, value, host=None):
    if isinstance(value, bool):
        return value
    if isinstance(value, (str, int)) and str(value).strip().lower() in TRUE + FALSE:
        return str(value).strip().lower() in TRUE
    raise ModelError(name, "%s%r is not a boolean (true or false)" % (_where(host), value))


def as_number(name, value, low, high, host=None, whole=True):
    text = str(value).strip()
    try:
        if isinstance(value, bool):
            raise ValueError
        number = int(text) if whole else float(text)
    except (TypeError, ValueError):
        raise ModelError(name, "%s%r is not a %s" % (_where(host), value,
                                                     "whole number" if whole else "number"))
    if not low <= number <= high:
        raise ModelError(name, "%s%r is outside %s..%s" % (_where(host), value, low, high))
    return number


def as_choice(name, value, choices, host=None):
    if value not in choices:
        raise ModelError(name, "%s%r is not one of %s" % (_where(host), value, ", ".join(choices)))
    return value


def as_match(name, value, pattern, what, host=None, secret=False):
    if not isinstance(value, str) or not pattern.match(value):
        shown = "the value (not shown)" if secret else repr(value)
        raise ModelError(name, "%s%s must be %s" % (_where(host), shown, what))
    return value


def as_list(name, value, host=None):
    if not isinstance(value, list):
        raise ModelError(name, "%s%r is not a list" % (_where(host), value))
    return value


def _debian_version(name, value, host):
    return as_match(name, value, PACKAGE_VERSION_RE,
                    "a Debian package version such as 4.0.5-6+deb13u2, or empty for the candidate", host)


def _port(low=1):
    return lambda name, value, host: as_number(name, value, low, 65535, host)


def _interfaces(name, value, host):
    for i, item in enumerate(as_list(name, value, host)):
        as_match("%s[%d]" % (name, i), item, INTERFACE_RE, "an interface name (1-15 characters)", host)
    return value


def _bind(name, value, host):
    try:
        ipaddress.ip_address(str(value))
    except ValueError:
        raise ModelError(name, "%s%r is not an IP address (:: listens on every address)" % (_where(host), value))
    return value


def _networks(name, value, host):
    for i, item in enumerate(as_list(name, value, host)):
        try:
            ipaddress.ip_network(str(item), strict=False)
        except ValueError:
            raise ModelError("%s[%d]" % (name, i), "%s%r is not a network (CIDR such as 198.51.100.0/24)"
                             % (_where(host), item))
    return value


def _monitors(name, value, host):
    if not isinstance(value, dict):
        raise ModelError(name, "%s%r is not a mapping of monitors" % (_where(host), value))
    for monitor, conf in value.items():
        field = "%s.%s" % (name, monitor)
        as_choice(field, monitor, FEEDBACK_MONITORS, host)
        if not isinstance(conf, dict):
            raise ModelError(field, "%s%r is not a mapping (importance, threshold)" % (_where(host), conf))
        if "importance" in conf:
            as_number(field + ".importance", conf["importance"], 0, 100, host, whole=False)
        if "threshold" in conf:
            as_number(field + ".threshold", conf["threshold"], 1, 100, host, whole=False)
    return value


def _plugins(name, value, host):
    for i, item in enumerate(as_list(name, value, host)):
        as_match("%s[%d]" % (name, i), item, PLUGIN_RE,
                 "a plugin name (lower-case letters, digits and _, such as rabbitmq_prometheus)", host)
    return value


def _certificates(name, value, host):
    return as_match(name, value, CERTIFICATES_RE, "PEM text of one or more certificates"
                    " (-----BEGIN CERTIFICATE----- ...), not a file name", host)


def _private_key(name, value, host):
    if isinstance(value, str) and "ENCRYPTED" in value.split("\n", 1)[0]:
        raise ModelError(name, "%sthe key (not shown) is encrypted; RabbitMQ needs it unencrypted"
                         " (protect it with Ansible Vault instead)" % _where(host))
    return as_match(name, value, PRIVATE_KEY_RE, "PEM text of an unencrypted private key"
                    " (-----BEGIN PRIVATE KEY----- ...)", host, secret=True)


def _ip_or_empty(name, value, host):
    if value in ("", None):
        return value
    return _bind(name, value, host)


def _admin_user(name, value, host):
    as_match(name, value, USER_RE, "a user name of 1-255 letters, digits and _ . @ + -", host)
    if value == "guest":
        raise ModelError(name, "%s'guest' is RabbitMQ's default user, which the role removes;"
                         " name the administrator otherwise" % _where(host))
    return value


def _text(name, value, host):
    if not isinstance(value, str):
        raise ModelError(name, "%s%r is not a string" % (_where(host), value))
    return value


def _number(low, high, whole=True):
    return lambda name, value, host: as_number(name, value, low, high, host, whole)


def _unset_or(rule):
    """``rule``, or nothing set (null: the role leaves the setting alone)."""
    return lambda name, value, host: None if value is None else rule(name, value, host)


def _one_of(*choices):
    return lambda name, value, host: as_choice(name, value, choices, host)


def _bool(name, value, host):
    return as_bool(name, value, host)


def _secret(pattern, what):
    return lambda name, value, host: as_match(name, value, pattern, what, host, secret=True)


# Every option of the roles' argument specs a user sets in the inventory
# (tests/unit checks the tables against roles/*/meta/argument_specs.yml), by
# the group whose hosts run the role. The feedback agent's method, ports and
# sources come from the model (site.yml passes them), not from the inventory.
LOAD_BALANCER = {
    "load_balancer_group": _text,
    "load_balancer_haproxy_package_version": _debian_version,
    "load_balancer_keepalived_package_version": _debian_version,
    "load_balancer_vrrp_interface": lambda name, value, host: as_match(
        name, value, INTERFACE_RE, "an interface name (1-15 characters)", host),
    "load_balancer_vrrp_router_id": _number(1, 255),
    # VRRPv3 carries the interval in centiseconds in 12 bits.
    "load_balancer_vrrp_advert_interval": _number(0.01, 40.95, whole=False),
    # 255 belongs to the owner of the address, 0 to a master giving up.
    "load_balancer_vrrp_priority_primary": _number(1, 254),
    "load_balancer_vrrp_priority_secondary": _number(1, 254),
    "load_balancer_vrrp_preempt": _bool,
    "load_balancer_vrrp_realtime": _bool,
    "load_balancer_keepalived_nice": _unset_or(_number(-20, 19)),
    "load_balancer_vrrp_preempt_delay": _number(0, 1000),
    "load_balancer_ipvs_sync_refresh_period": _number(1, 3600),
    "load_balancer_ipvs_sync_retries": _number(0, 3),
    "load_balancer_ipvs_sync_sock_size": _number(0, 67108864),
    "load_balancer_ipvs_expire_nodest_conn": _bool,
    "load_balancer_haproxy_maxconn": _number(1, 10000000),
    "load_balancer_engine_check_interval": _number(1, 3600),
    "load_balancer_haproxy_alive_port": _port(),
}
RABBITMQ_CLUSTER = {
    "rabbitmq_cluster_group": _text,
    "rabbitmq_cluster_package_version": _debian_version,
    "rabbitmq_cluster_erlang_cookie": _secret(COOKIE_RE, "20 to 255 characters of A-Z, a-z, 0-9"),
    "rabbitmq_cluster_admin_user": _admin_user,
    "rabbitmq_cluster_admin_password": _secret(re.compile(r"^.{8,}$", re.S), "at least 8 characters"),
    "rabbitmq_cluster_port": _port(),
    "rabbitmq_cluster_heartbeat": _number(0, 3600),
    "rabbitmq_cluster_partition_handling": _one_of("pause_minority", "autoheal", "ignore"),
    "rabbitmq_cluster_proxy_protocol": _bool,
    "rabbitmq_cluster_connection_log_level": _one_of("debug", "info", "warning", "error", "critical", "none"),
    "rabbitmq_cluster_default_queue_type": _one_of("quorum", "classic", "stream"),
    "rabbitmq_cluster_khepri": _bool,
    "rabbitmq_cluster_plugins": _plugins,
    "rabbitmq_cluster_ready_timeout": _number(1, 86400),
    "rabbitmq_cluster_tls": _bool,
    "rabbitmq_cluster_tls_port": _port(),
    "rabbitmq_cluster_tls_certificate": lambda name, value, host: value and _certificates(name, value, host),
    "rabbitmq_cluster_tls_private_key": lambda name, value, host: value and _private_key(name, value, host),
    "rabbitmq_cluster_tls_ca_certificates": lambda name, value, host: value and _certificates(name, value, host),
    "rabbitmq_cluster_tls_verify_clients": _bool,
    "rabbitmq_cluster_management_ip": _ip_or_empty,
    "rabbitmq_cluster_management_port": _port(),
}
REAL_SERVER = {
    "real_server_method": _one_of("loopback_arp", "iptables_redirect", "nftables_redirect", "firewalld_redirect"),
    "real_server_state": _one_of("present", "absent"),
    "real_server_interfaces": _interfaces,
    "real_server_address": _text,
}
FEEDBACK_AGENT = {
    "feedback_agent_bind": _bind,
    "feedback_agent_interval": _number(0.1, 60, whole=False),
    "feedback_agent_cgroup": _text,
    "feedback_agent_monitors": _monitors,
    "feedback_agent_rabbitmq": _bool,
    "feedback_agent_rabbitmq_node": lambda name, value, host: as_match(
        name, value, re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$"), "an Erlang node name (the part before @)", host),
    "feedback_agent_prometheus_port": _port(0),
}
FIREWALL = {
    "firewall_state": _one_of("present", "absent"),
    "firewall_load_balancers_group": _text,
    "firewall_rabbitmq_group": _text,
    "firewall_admin_networks": _networks,
    "firewall_admin_ports": lambda name, value, host: [as_number("%s[%d]" % (name, i), port, 1, 65535, host)
                                                       for i, port in enumerate(as_list(name, value, host))],
    "firewall_client_networks": _networks,
    "firewall_monitoring_networks": _networks,
}
# Set by site.yml from the model (or checked by the model): not read from the inventory.
FROM_MODEL = ("feedback_agent_state", "feedback_agent_method", "feedback_agent_port",
              "feedback_agent_service_port", "feedback_agent_allowed_sources", "feedback_agent_scripts")
# What a reader returns for a variable the inventory does not set.
UNSET = object()
# The load_balancer role's defaults (tests/unit compares them).
PRIORITY_DEFAULTS = {"primary": 150, "secondary": 100}
# Without these the brokers cannot form a cluster or be managed.
REQUIRED = ("rabbitmq_cluster_erlang_cookie", "rabbitmq_cluster_admin_password")


def check_broker_ports(host, values):
    """TLS needs its certificate and key (and the CAs when clients must show a
    certificate); the broker's ports must differ."""
    tls = as_bool("rabbitmq_cluster_tls", values.get("rabbitmq_cluster_tls", False), host)
    if tls:
        for name in ("rabbitmq_cluster_tls_certificate", "rabbitmq_cluster_tls_private_key"):
            if not values.get(name):
                raise ModelError(name, "host %r: not set, and rabbitmq_cluster_tls is true" % host)
        if as_bool("rabbitmq_cluster_tls_verify_clients", values.get("rabbitmq_cluster_tls_verify_clients", False),
                   host) and not values.get("rabbitmq_cluster_tls_ca_certificates"):
            raise ModelError("rabbitmq_cluster_tls_ca_certificates", "host %r: not set, and"
                             " rabbitmq_cluster_tls_verify_clients is true (the CAs that issue the"
                             " clients' certificates)" % host)
    ports = [("rabbitmq_cluster_port", values.get("rabbitmq_cluster_port", 5672))]
    if tls:
        ports.append(("rabbitmq_cluster_tls_port", values.get("rabbitmq_cluster_tls_port", 5671)))
    ports.append(("rabbitmq_cluster_management_port", values.get("rabbitmq_cluster_management_port", 15672)))
    seen = {}
    for name, port in ports:
        port = int(port)
        if port in seen:
            raise ModelError(name, "host %r: %d is already %s" % (host, port, seen[port]))
        seen[port] = name


def check_host(host, values, tables, interfaces=None):
    """Check one host's role variables.

    ``values``: ``{variable: value}`` of what the inventory sets (undefined ones
    left out: the role default applies); ``tables``: the rule tables of the
    roles that run on the host; ``interfaces``: the host's interface names from
    gathered facts, if any, to check that a named interface exists.
    """
    for table in tables:
        for name, rule in table.items():
            if name in values:
                rule(name, values[name], host)
            elif name in REQUIRED:
                raise ModelError(name, "host %r: not set; set it in a vaulted variable" % host)
    if interfaces:
        named = [("load_balancer_vrrp_interface", values.get("load_balancer_vrrp_interface"))]
        named += [("real_server_interfaces", name) for name in values.get("real_server_interfaces") or []]
        for field, name in named:
            if name and name not in interfaces:
                raise ModelError(field, "host %r has no interface %r (it has %s)"
                                 % (host, name, ", ".join(sorted(interfaces))))
    if RABBITMQ_CLUSTER in tables:
        check_broker_ports(host, values)
    if LOAD_BALANCER in tables:
        primary, secondary = (int(values.get("load_balancer_vrrp_priority_" + key, PRIORITY_DEFAULTS[key]))
                              for key in ("primary", "secondary"))
        if primary <= secondary:
            raise ModelError("load_balancer_vrrp_priority_secondary",
                             "host %r: %d is not below load_balancer_vrrp_priority_primary %d; the first"
                             " load balancer is the primary" % (host, secondary, primary))
