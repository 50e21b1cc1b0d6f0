# -*- coding: utf-8 -*-
# Copyright: (c) 2026, lbstack.rabbitmq contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The virtual service model: one declaration, validated once, rendered per engine.

A virtual service (VIP) is declared with the appliance guide's fields in
``lbstack_virtual_services``. :func:`normalize_services` fills in defaults,
resolves real servers (RIPs) from inventory groups and checks every rule that
can be checked on the controller. Errors name the field and the value, for
example ``lbstack_virtual_services[0].vip: '1.2.3' is not an IP address``.

Pure Python (stdlib ``ipaddress``), so that it runs in the action plugin on the
controller and inside modules on the load balancers alike.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import re

MODES = ("l4_dr", "l7_snat")
# The one mapping from mode to the engine that serves it.
ENGINE_BY_MODE = {"l7_snat": "haproxy", "l4_dr": "keepalived"}
# Where the roles are tested: distribution -> major versions, and the init system.
SUPPORTED_PLATFORMS = {"Debian": ("12", "13")}
SUPPORTED_INIT = "systemd"
# amqps: the AMQP check inside a TLS handshake, for a port where the brokers
# listen with TLS (the certificate is not verified: it names the VIP).
HEALTH_CHECKS = ("amqp", "amqps", "tcp", "none")
FEEDBACK_METHODS = ("agent", "http", "none")
PROTOCOLS = ("tcp",)
# Schedulers by their IPVS names (the guide's vocabulary); HAProxy gets the
# closest balance algorithm from the renderer.
SCHEDULERS = ("rr", "wrr", "lc", "wlc", "sh")
# Weight ranges the engines accept: HAProxy 0..256, IPVS 0..65535.
WEIGHT_MAX = {"l7_snat": 256, "l4_dr": 65535}
# keepalived sets a dynamic weight from a MISC_CHECK's exit status (status - 2,
# statuses 2..255): with the feedback agent an IPVS weight is at most 253, and a
# service whose weights go higher is scaled down as a whole (dynamic_weights).
DYNAMIC_WEIGHT_MAX = 253
# Ports a broker listens on itself (epmd, AMQP, management, prometheus, inter-node):
# the feedback agent cannot take one of them.
RABBITMQ_PORTS = (4369, 5671, 5672, 15671, 15672, 15692, 25672)
DEFAULT_AMQP_HEARTBEAT = 30
DEFAULT_PROXY_TIMEOUT = 180
LABEL_RE = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
# Names the load balancer role uses for itself in the engines' configuration
# (HAProxy's liveness frontend in roles/load_balancer/templates/haproxy.cfg.j2);
# a virtual service cannot take them.
RESERVED_LABELS = ("lbstack_alive",)

SERVICE_DEFAULTS = {
    "vip": None,
    "vip6": None,
    "ports": [5672],
    "protocol": "tcp",
    "mode": "l7_snat",
    "scheduler": "wlc",
    "health_check": "amqp",
    "check_interval": 2,
    "persistence": 0,
    "feedback": "none",
    "feedback_port": 3333,
    "feedback_interval": 2,
    "proxy_timeout": DEFAULT_PROXY_TIMEOUT,
    "connect_timeout": 5,
    "proxy_protocol": False,
    "real_servers_group": None,
    "real_servers": None,
}
REAL_SERVER_DEFAULTS = {"weight": 100, "min_conns": 0, "max_conns": 0, "port": None, "ip6": None}
# Platforms whose networks cannot do Direct Routing (the guide: use Layer 7 there).
NO_DR_PLATFORMS = ("aws", "azure")


class ModelError(ValueError):
    """Bad input. The message starts with the field it is about."""

    def __init__(self, field, message):
        self.field = field
        super(ModelError, self).__init__("%s: %s" % (field, message))


def _ip(field, value, version=None):
    try:
        addr = ipaddress.ip_address(str(value).strip())
    except ValueError:
        raise ModelError(field, "%r is not an IP address" % (value,))
    if version and addr.version != version:
        raise ModelError(field, "%r is not an IPv%d address" % (value, version))
    return addr


def _int(field, value, low, high):
    if isinstance(value, bool):
        raise ModelError(field, "%r is not a whole number" % (value,))
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ModelError(field, "%r is not a whole number" % (value,))
    if str(number) != str(value).strip():
        raise ModelError(field, "%r is not a whole number" % (value,))
    if not low <= number <= high:
        raise ModelError(field, "%r is outside %d..%d" % (value, low, high))
    return number


def _choice(field, value, choices):
    if value not in choices:
        raise ModelError(field, "%r is not one of %s" % (value, ", ".join(choices)))
    return value


def _bool(field, value):
    if isinstance(value, bool):
        return value
    raise ModelError(field, "%r is not a boolean" % (value,))


def _real_servers(field, svc, inventory):
    """RIPs from an explicit list or from an inventory group (label = host name)."""
    explicit, group = svc.get("real_servers"), svc.get("real_servers_group")
    if explicit and group:
        raise ModelError(field, "set real_servers or real_servers_group, not both")
    if group:
        hosts = inventory.get("groups", {}).get(group)
        if not hosts:
            raise ModelError(field + ".real_servers_group",
                             "%r is not an inventory group with hosts" % (group,))
        addresses = inventory.get("addresses", {})
        explicit = [{"label": h, "ip": addresses.get(h, {}).get("ip"),
                     "ip6": addresses.get(h, {}).get("ip6"), "host": h} for h in hosts]
    if not explicit:
        raise ModelError(field, "a virtual service needs real_servers or real_servers_group")
    if not isinstance(explicit, list):
        raise ModelError(field + ".real_servers", "must be a list")
    out = []
    for index, raw in enumerate(explicit):
        rfield = "%s.real_servers[%d]" % (field, index)
        if not isinstance(raw, dict):
            raise ModelError(rfield, "must be a mapping with label and ip")
        unknown = set(raw) - set(REAL_SERVER_DEFAULTS) - {"label", "ip", "host"}
        if unknown:
            raise ModelError(rfield, "unknown field(s) %s" % ", ".join(sorted(unknown)))
        rs = dict(REAL_SERVER_DEFAULTS)
        rs.update(raw)
        label = rs.get("label")
        if not isinstance(label, str) or not LABEL_RE.match(label):
            raise ModelError(rfield + ".label", "%r must be 1-64 of A-Z a-z 0-9 _ . -" % (label,))
        if rs.get("ip") in (None, ""):
            raise ModelError(rfield + ".ip", "missing (for a group member, set lbstack_ip"
                             " on host %r)" % (rs.get("host") or label,))
        rs["ip"] = str(_ip(rfield + ".ip", rs["ip"], version=4))
        if rs["ip6"] not in (None, ""):
            rs["ip6"] = str(_ip(rfield + ".ip6", rs["ip6"], version=6))
        else:
            rs["ip6"] = None
        rs["weight"] = _int(rfield + ".weight", rs["weight"], 0, WEIGHT_MAX[svc["mode"]])
        rs["min_conns"] = _int(rfield + ".min_conns", rs["min_conns"], 0, 1000000)
        rs["max_conns"] = _int(rfield + ".max_conns", rs["max_conns"], 0, 1000000)
        if rs["min_conns"] and not rs["max_conns"]:
            raise ModelError(rfield + ".min_conns", "%d needs max_conns: both engines use the"
                             " lower limit only to end an overload above max_conns"
                             % rs["min_conns"])
        if rs["max_conns"] and rs["min_conns"] > rs["max_conns"]:
            raise ModelError(rfield + ".min_conns", "%d is above max_conns %d"
                             % (rs["min_conns"], rs["max_conns"]))
        if rs["port"] is not None:
            rs["port"] = _int(rfield + ".port", rs["port"], 1, 65535)
        rs.setdefault("host", None)
        out.append(rs)
    _unique(field + ".real_servers", [r["label"] for r in out], "label")
    _unique(field + ".real_servers", ["%s:%s" % (r["ip"], r["port"]) for r in out], "ip:port")
    return out


def _unique(field, values, what):
    seen = set()
    for value in values:
        if value in seen:
            raise ModelError(field, "duplicate %s %r" % (what, value))
        seen.add(value)


def normalize_service(index, raw, inventory):
    field = "lbstack_virtual_services[%d]" % index
    if not isinstance(raw, dict):
        raise ModelError(field, "must be a mapping")
    unknown = set(raw) - set(SERVICE_DEFAULTS) - {"label", "engine"}
    if unknown:
        raise ModelError(field, "unknown field(s) %s" % ", ".join(sorted(unknown)))
    svc = dict(SERVICE_DEFAULTS)
    svc.update(dict((k, v) for k, v in raw.items() if v is not None))
    label = svc.get("label")
    if not isinstance(label, str) or not LABEL_RE.match(label):
        raise ModelError(field + ".label", "%r must be 1-64 of A-Z a-z 0-9 _ . -" % (label,))
    if label in RESERVED_LABELS:
        raise ModelError(field + ".label", "%r is reserved for the load balancer's own use" % (label,))
    svc["mode"] = _choice(field + ".mode", svc["mode"], MODES)
    # The engine follows from the mode; a normalized service carries it, and
    # one that names another engine is a contradiction.
    engine = ENGINE_BY_MODE[svc["mode"]]
    if svc.get("engine", engine) != engine:
        raise ModelError(field + ".engine", "%r: mode %r is served by %s"
                         % (svc["engine"], svc["mode"], engine))
    svc["engine"] = engine
    if svc["vip"] is None and svc["vip6"] is None:
        raise ModelError(field + ".vip", "a virtual service needs vip and/or vip6")
    if svc["vip"] is not None:
        svc["vip"] = str(_ip(field + ".vip", svc["vip"], version=4))
    if svc["vip6"] is not None:
        svc["vip6"] = str(_ip(field + ".vip6", svc["vip6"], version=6))
    ports = svc["ports"]
    if not isinstance(ports, list) or not ports:
        raise ModelError(field + ".ports", "%r must be a non-empty list of ports" % (ports,))
    svc["ports"] = [_int("%s.ports[%d]" % (field, i), p, 1, 65535) for i, p in enumerate(ports)]
    _unique(field + ".ports", svc["ports"], "port")
    svc["protocol"] = _choice(field + ".protocol", svc["protocol"], PROTOCOLS)
    svc["scheduler"] = _choice(field + ".scheduler", svc["scheduler"], SCHEDULERS)
    svc["health_check"] = _choice(field + ".health_check", svc["health_check"], HEALTH_CHECKS)
    svc["feedback"] = _choice(field + ".feedback", svc["feedback"], FEEDBACK_METHODS)
    if svc["mode"] == "l7_snat" and svc["feedback"] == "http":
        raise ModelError(field + ".feedback", "'http' feedback is Layer 4 only; use 'agent' on l7_snat")
    svc["feedback_port"] = _int(field + ".feedback_port", svc["feedback_port"], 1, 65535)
    svc["feedback_interval"] = _int(field + ".feedback_interval", svc["feedback_interval"], 1, 3600)
    svc["check_interval"] = _int(field + ".check_interval", svc["check_interval"], 1, 3600)
    svc["proxy_timeout"] = _int(field + ".proxy_timeout", svc["proxy_timeout"], 1, 86400)
    svc["persistence"] = _int(field + ".persistence", svc["persistence"], 0, 86400)
    if svc["persistence"] and svc["mode"] != "l4_dr":
        raise ModelError(field + ".persistence", "%d: source IP persistence is implemented for"
                         " l4_dr (IPVS persistence_timeout) only; set 0 for %s"
                         % (svc["persistence"], svc["mode"]))
    svc["connect_timeout"] = _int(field + ".connect_timeout", svc["connect_timeout"], 1, 3600)
    svc["proxy_protocol"] = _bool(field + ".proxy_protocol", svc["proxy_protocol"])
    if svc["proxy_protocol"] and svc["mode"] != "l7_snat":
        raise ModelError(field + ".proxy_protocol",
                         "the PROXY protocol needs a proxy; mode %r cannot carry it (use l7_snat)"
                         % svc["mode"])
    svc["real_servers"] = _real_servers(field, svc, inventory)
    svc.pop("real_servers_group", None)
    if svc["feedback"] != "none":
        served = set(svc["ports"]) | set(rs["port"] for rs in svc["real_servers"] if rs["port"])
        if svc["feedback_port"] in served or svc["feedback_port"] in RABBITMQ_PORTS:
            raise ModelError(field + ".feedback_port", "%d is a port the real servers serve or"
                             " RabbitMQ listens on; the agent needs its own (default 3333)"
                             % svc["feedback_port"])
    for i, rs in enumerate(svc["real_servers"]):
        if svc["mode"] == "l4_dr" and rs["port"] is not None and \
                (len(svc["ports"]) > 1 or rs["port"] != svc["ports"][0]):
            raise ModelError("%s.real_servers[%d].port" % (field, i),
                             "%d: Direct Routing cannot translate ports; leave it empty or"
                             " equal to the VIP port" % rs["port"])
        if svc["mode"] == "l4_dr" and svc["vip6"] and rs["ip6"] is None:
            raise ModelError("%s.real_servers[%d].ip6" % (field, i),
                             "missing: Direct Routing forwards an IPv6 VIP only to IPv6 real"
                             " server addresses (set lbstack_ipv6 on host %r)"
                             % (rs["host"] or rs["label"]))
    return svc


def normalize_services(services, inventory, heartbeat=DEFAULT_AMQP_HEARTBEAT, platform=None):
    """Validate and complete ``lbstack_virtual_services``.

    ``inventory`` is ``{"groups": {name: [hosts]}, "addresses": {host: {"ip": .., "ip6": ..}},
    "load_balancers": {host: ["ip", ...]}}``. ``platform`` is where the load
    balancers run (``lbstack_platform``: aws, azure, or anything else for a
    network that can do Direct Routing). Returns the list of normalized services.
    """
    if services is None:
        services = []
    if not isinstance(services, list):
        raise ModelError("lbstack_virtual_services", "must be a list of virtual services")
    heartbeat = _int("rabbitmq_cluster_heartbeat", heartbeat, 0, 3600)
    out = [normalize_service(i, raw, inventory) for i, raw in enumerate(services)]
    _unique("lbstack_virtual_services", [s["label"] for s in out], "label")
    endpoints = set()
    lb_addresses = {}
    for host, addresses in (inventory.get("load_balancers") or {}).items():
        for address in addresses:
            if address:
                lb_addresses[str(ipaddress.ip_address(address))] = host
    for i, svc in enumerate(out):
        field = "lbstack_virtual_services[%d]" % i
        for key in ("vip", "vip6"):
            vip = svc[key]
            if vip is None:
                continue
            for port in svc["ports"]:
                endpoint = "[%s]:%d" % (vip, port)
                if endpoint in endpoints:
                    raise ModelError(field + "." + key, "%s:%d is already used by another"
                                     " virtual service" % (vip, port))
                endpoints.add(endpoint)
            for rs in svc["real_servers"]:
                if vip in (rs["ip"], rs["ip6"]):
                    raise ModelError(field + "." + key, "%s is also the IP of real server %r"
                                     % (vip, rs["label"]))
            if vip in lb_addresses:
                raise ModelError(field + "." + key, "%s is the own address of load balancer %r;"
                                 " a VIP must float" % (vip, lb_addresses[vip]))
        if svc["mode"] == "l4_dr" and platform in NO_DR_PLATFORMS:
            raise ModelError(field + ".mode", "l4_dr is not possible on %s (lbstack_platform): its"
                             " network does not deliver Direct Routing; use l7_snat" % platform)
        if svc["mode"] == "l4_dr":
            for rs in svc["real_servers"]:
                for address in (rs["ip"], rs["ip6"]):
                    if address in lb_addresses:
                        raise ModelError(field + ".real_servers", "real server %r (%s) is also the"
                                         " director %r; in Direct Routing a director cannot"
                                         " serve itself" % (rs["label"], address,
                                                            lb_addresses[address]))
        _check_brokers(field, svc, inventory.get("brokers") or {})
        if heartbeat and svc["proxy_timeout"] <= 2 * heartbeat:
            raise ModelError(field + ".proxy_timeout",
                             "%ds must be above twice the AMQP heartbeat (%ds), or idle"
                             " connections are cut" % (svc["proxy_timeout"], heartbeat))
    return out


def dynamic_weights(svc):
    """The weights keepalived starts an l4_dr service's real servers at (every
    one has a checker with misc_dynamic: the feedback agent, an operator's admin
    state): the configured ones, or, when one is above DYNAMIC_WEIGHT_MAX,
    every one scaled by the same factor (rounded, at least 1 for a weight above
    0), so the ratios stay. ``{label: weight}``."""
    return dict((rs["label"], scale_weight(svc, rs["weight"])) for rs in svc["real_servers"])


def scale_weight(svc, weight):
    """``weight`` in keepalived's units for ``svc`` (see ``dynamic_weights``)."""
    top = max([rs["weight"] for rs in svc["real_servers"]] + [1])
    if top <= DYNAMIC_WEIGHT_MAX or not weight:
        return min(weight, DYNAMIC_WEIGHT_MAX) if svc["mode"] == "l4_dr" else weight
    return min(max(int(weight * DYNAMIC_WEIGHT_MAX / float(top) + 0.5), 1), DYNAMIC_WEIGHT_MAX)


def feedback_agents(services, brokers=()):
    """Where the feedback agent runs and how: ``{host: {"method", "port",
    "service_port", "services"}}`` for each inventory host that is a real
    server of a service with ``feedback`` agent or http (a group member, or a
    listed real server whose label is one of ``brokers``). A host runs one
    agent: two services that ask it for different methods or ports are refused.
    """
    agents = {}
    for i, svc in enumerate(services):
        if svc["feedback"] == "none":
            continue
        field = "lbstack_virtual_services[%d]" % i
        for rs in svc["real_servers"]:
            host = rs.get("host") or (rs["label"] if rs["label"] in brokers else None)
            if host is None:
                continue
            want = {"method": svc["feedback"], "port": svc["feedback_port"]}
            agent = agents.get(host)
            if agent is None:
                agents[host] = dict(want, service_port=rs["port"] or svc["ports"][0],
                                    services=[svc["label"]])
                continue
            for key in ("method", "port"):
                if agent[key] != want[key]:
                    raise ModelError(field + (".feedback" if key == "method" else ".feedback_port"),
                                     "%r: host %r runs one feedback agent, which answers %r on"
                                     " service(s) %s" % (want[key], host, agent[key],
                                                         ", ".join(agent["services"])))
            if svc["label"] not in agent["services"]:
                agent["services"].append(svc["label"])
    return agents


def _check_brokers(field, svc, brokers):
    """A real server that is one of our brokers must listen where the service
    sends (its rabbitmq_cluster_port, or its TLS port), be checked with TLS
    exactly on its TLS port, and speak the PROXY protocol exactly when the
    service does."""
    for j, rs in enumerate(svc["real_servers"]):
        broker = brokers.get(rs.get("host") or rs["label"])
        if broker is None:
            continue
        rfield = "%s.real_servers[%d]" % (field, j)
        port = broker.get("port")
        tls_port = broker.get("tls_port")
        if port is not None:
            listens = [port] + ([tls_port] if tls_port else [])
            names = "rabbitmq_cluster_port %d%s" % (port, " or rabbitmq_cluster_tls_port %d" % tls_port
                                                    if tls_port else "")
            targets = [rs["port"]] if rs["port"] is not None else svc["ports"]
            if rs["port"] is not None and rs["port"] not in listens:
                raise ModelError(rfield + ".port", "%d: broker %r listens on %s"
                                 % (rs["port"], rs["label"], names))
            if rs["port"] is None and any(p not in listens for p in svc["ports"]):
                raise ModelError(field + ".ports", "%s: real server %r gets the VIP port, but"
                                 " listens on %s only (set the real server's port%s)"
                                 % (svc["ports"], rs["label"], names,
                                    ", or use l7_snat" if svc["mode"] == "l4_dr" else ""))
            tls = [p == tls_port for p in targets]
            if svc["health_check"] in ("amqp", "amqps") and len(set(tls)) > 1:
                raise ModelError(field + ".ports", "%s: broker %r takes TLS on %d only; a TLS port and"
                                 " a plain one need a virtual service each (their health checks"
                                 " differ)" % (svc["ports"], rs["label"], tls_port))
            if svc["health_check"] == "amqp" and tls[0]:
                raise ModelError(field + ".health_check", "amqp: broker %r takes TLS on port %d;"
                                 " use amqps" % (rs["label"], tls_port))
            if svc["health_check"] == "amqps" and not tls[0]:
                raise ModelError(field + ".health_check", "amqps: broker %r takes plain AMQP on port"
                                 " %d (TLS: set rabbitmq_cluster_tls); use amqp"
                                 % (rs["label"], targets[0]))
        accepts = broker.get("proxy_protocol")
        if accepts is not None and bool(accepts) != svc["proxy_protocol"]:
            raise ModelError(field + ".proxy_protocol",
                             "%s, but broker %r has rabbitmq_cluster_proxy_protocol %s: %s"
                             % (str(svc["proxy_protocol"]).lower(), rs["label"],
                                str(bool(accepts)).lower(),
                                "it would read the PROXY header as AMQP" if svc["proxy_protocol"]
                                else "it would refuse every client connection without a PROXY"
                                " header"))


def host_addresses(host, hostvars, facts):
    """The addresses ``host`` uses on the service network (VRRP source and
    peers, real server IP), never ``ansible_host`` by itself, which may be a
    DNS name or a management address.

    IPv4: ``lbstack_ip``, else the address of the default route in the
    gathered facts, else ``ansible_host`` when it is an IPv4 address. IPv6:
    ``lbstack_ipv6`` (none by default).
    """
    for old, new in (("lbstack_rip", "lbstack_ip"), ("lbstack_rip6", "lbstack_ipv6")):
        if hostvars.get(old) not in (None, ""):
            raise ModelError(old, "host %r: renamed to %s" % (host, new))
    ip = hostvars.get("lbstack_ip")
    if ip in (None, ""):
        ip = ((facts or {}).get("default_ipv4") or {}).get("address")
    if ip in (None, ""):
        candidate = hostvars.get("ansible_host") or host
        try:
            ip = str(ipaddress.IPv4Address(str(candidate)))
        except ValueError:
            raise ModelError("lbstack_ip", "host %r: no service network address: set lbstack_ip"
                             " (ansible_host %r is not an IPv4 address, and no facts with a"
                             " default route were gathered)" % (host, candidate))
    try:
        out = {"ip": str(_ip("lbstack_ip", ip, version=4))}
        ip6 = hostvars.get("lbstack_ipv6")
        out["ip6"] = str(_ip("lbstack_ipv6", ip6, version=6)) if ip6 not in (None, "") else None
    except ModelError as exc:
        raise ModelError(exc.field, "host %r: %s" % (host, str(exc)[len(exc.field) + 2:]))
    return out


def check_platform(host, facts):
    """Refuse a host whose OS or init system the roles do not support."""
    distribution = facts.get("distribution")
    major = str(facts.get("distribution_major_version"))
    supported = ", ".join("%s %s" % (name, " or ".join(majors))
                          for name, majors in sorted(SUPPORTED_PLATFORMS.items()))
    if major not in SUPPORTED_PLATFORMS.get(distribution, ()):
        raise ModelError("ansible_facts.distribution", "host %r runs %s %s; supported: %s"
                         % (host, distribution, facts.get("distribution_version") or major,
                            supported))
    if facts.get("service_mgr") != SUPPORTED_INIT:
        raise ModelError("ansible_facts.service_mgr", "host %r runs %s as init; supported: %s"
                         % (host, facts.get("service_mgr"), SUPPORTED_INIT))


def check_pair(settings_by_host):
    """An HA pair must agree on everything it shares.

    ``settings_by_host`` maps each load balancer to a dict of its shared settings
    (virtual services, VRRP settings). Raises on the first difference.
    """
    hosts = sorted(settings_by_host)
    if len(hosts) > 2:
        raise ModelError("load_balancers", "%d hosts: one is a single unit, two an HA pair;"
                         " more are not supported (%s)" % (len(hosts), ", ".join(hosts)))
    if len(hosts) < 2:
        return
    first, second = (settings_by_host[h] for h in hosts)
    for key in sorted(set(first) | set(second)):
        if first.get(key) != second.get(key):
            raise ModelError(key, "the HA pair disagrees: %s has %r, %s has %r"
                             % (hosts[0], first.get(key), hosts[1], second.get(key)))


def interface_networks(facts):
    """The networks (CIDR strings) of every interface in gathered facts."""
    networks = set()
    for name in facts.get("interfaces", []):
        iface = facts.get(name.replace("-", "_")) or facts.get(name) or {}
        v4 = iface.get("ipv4")
        entries = ([v4] if isinstance(v4, dict) else list(v4 or []))
        for entry in entries + list(iface.get("ipv4_secondaries") or []):
            if entry.get("address") and entry.get("netmask"):
                networks.add(str(ipaddress.ip_interface(
                    u"%s/%s" % (entry["address"], entry["netmask"])).network))
        for entry in iface.get("ipv6") or []:
            if entry.get("address") and entry.get("prefix") and entry.get("scope") != "link":
                networks.add(str(ipaddress.ip_interface(
                    u"%s/%s" % (entry["address"].split("%")[0], entry["prefix"])).network))
    return sorted(networks)


def check_director_networks(services, director, networks):
    """A Direct Routing director must reach every real server at layer 2.

    ``networks`` are the director's interface networks (CIDR strings, IPv4 and
    IPv6). Raises when a RIP of an l4_dr service lies outside all of them.
    """
    nets = [ipaddress.ip_network(n, strict=False) for n in networks]
    for i, svc in enumerate(services):
        if svc["mode"] != "l4_dr":
            continue
        for j, rs in enumerate(svc["real_servers"]):
            keys = ["ip"] + (["ip6"] if svc.get("vip6") else [])
            for key in keys:
                address = ipaddress.ip_address(rs[key])
                if not any(address in net for net in nets if net.version == address.version):
                    raise ModelError("lbstack_virtual_services[%d].real_servers[%d].%s" % (i, j, key),
                                     "%s is in no subnet of director %r (%s): Direct Routing"
                                     " forwards at layer 2, so the director needs an interface in"
                                     " the real servers' subnet"
                                     % (address, director, ", ".join(sorted(networks)) or "none"))


def services_for_real_server(services, ip):
    """The normalized services in which ``ip`` is a real server."""
    return [s for s in services if any(rs["ip"] == ip for rs in s["real_servers"])]
