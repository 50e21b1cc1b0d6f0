# -*- coding: utf-8 -*-
# Copyright: (c) 2026, lbstack.rabbitmq contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters that read the normalized model (the output of the preflight action)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError
from ansible_collections.lbstack.rabbitmq.plugins.module_utils import model, windows


def real_server_vips(services, address):
    """The Direct Routing VIPs a real server must accept, by family.

    ``services`` are normalized virtual services, ``address`` the server's RIP.
    Returns ``{"ipv4": [...], "ipv6": [...], "labels": {vip: label}}``, sorted.
    """
    ipv4, ipv6, labels = set(), set(), {}
    for svc in model.services_for_real_server(services, address):
        if svc["mode"] != "l4_dr":
            continue
        if svc.get("vip"):
            ipv4.add(svc["vip"])
            labels[svc["vip"]] = svc["label"]
        if svc.get("vip6"):
            ipv6.add(svc["vip6"])
            labels[svc["vip6"]] = svc["label"]
    return {"ipv4": sorted(ipv4), "ipv6": sorted(ipv6), "labels": labels}


def real_server_labels(services, address, address6=None):
    """Which real server a host is in each virtual service: ``[{"service": label,
    "server": real server label}]`` for every service with a real server at
    ``address`` (or ``address6``), sorted. The day-2 playbooks name it so."""
    out = []
    for svc in services:
        for rs in svc["real_servers"]:
            if rs["ip"] == address or (address6 and rs.get("ip6") == address6):
                out.append({"service": svc["label"], "server": rs["label"]})
    return sorted(out, key=lambda item: (item["service"], item["server"]))


def firewalld_redirect_rules(vips, owner="lbstack-real-server"):
    """The firewalld direct rules of the guide's method 4 for ``real_server_vips`` output.

    One ``nat PREROUTING`` REDIRECT rule per VIP, tagged with a comment
    ``owner:label`` so that the rules can be found and removed again.
    """
    rules = []
    for ipv, family in (("ipv4", "ipv4"), ("ipv6", "ipv6")):
        for vip in vips.get(family, []):
            rules.append({"ipv": ipv, "table": "nat", "chain": "PREROUTING", "priority": 0,
                          "args": "-d %s -m comment --comment %s:%s -j REDIRECT"
                                  % (vip, owner, vips["labels"][vip])})
    return rules


def real_server_sysctls(interfaces, arp_ignore, arp_announce, dad_transmits=None, accept_dad=None):
    """The kernel settings of the guide's method 1, as ``key=value`` strings.

    ``arp_ignore`` and ``arp_announce`` for ``all`` and each of ``interfaces``
    (sorted); the IPv6 DAD settings of ``lo`` only when given (None leaves
    them out). The role uses it for the settings (1, 2, and 0, 0 when a VIP is
    IPv6) and for the kernel's defaults that ``state: absent`` restores.
    """
    if isinstance(interfaces, str) or not all(isinstance(i, str) and i for i in interfaces):
        raise ValueError("real_server_interfaces: expected a list of interface names, got %r" % (interfaces,))
    keys = ["all"] + sorted(set(interfaces) - set(["all"]))
    out = ["net.ipv4.conf.%s.arp_ignore=%d" % (key, int(arp_ignore)) for key in keys]
    out += ["net.ipv4.conf.%s.arp_announce=%d" % (key, int(arp_announce)) for key in keys]
    if dad_transmits is not None:
        out.append("net.ipv6.conf.lo.dad_transmits=%d" % int(dad_transmits))
    if accept_dad is not None:
        out.append("net.ipv6.conf.lo.accept_dad=%d" % int(accept_dad))
    return out


def nft_layout(kernel):
    """How the nftables redirect is laid out for a kernel release (``ansible_facts.kernel``).

    ``inet`` (one inet table, NAT in inet needs 5.2), ``legacy`` (ip and ip6
    tables) or ``legacy_postrouting`` (before 4.18 a redirect also needs a
    registered postrouting chain).
    """
    try:
        version = tuple(int(part) for part in str(kernel).split("-", 1)[0].split(".")[:2])
    except ValueError:
        raise ValueError("nft_layout: cannot read the kernel release %r" % (kernel,))
    if version >= (5, 2):
        return "inet"
    return "legacy" if version >= (4, 18) else "legacy_postrouting"


def unit_stop_commands(lines):
    """The commands of a unit file's ``ExecStop=`` lines, without systemd's prefixes.

    ``lines`` are the unit file's lines. A prefix such as ``-`` (failure
    ignored) is dropped, so the result can be compared between two versions of
    a unit and run as is.
    """
    out = []
    for line in lines:
        line = line.strip()
        if not line.startswith("ExecStop="):
            continue
        command = line[len("ExecStop="):].lstrip("-@:+!")
        if command:
            out.append(command)
    return out


def real_server_dr_ports(services, address):
    """The TCP ports of the Direct Routing services in which ``address`` is a real server, sorted."""
    return windows.dr_ports(services, address)


def windows_real_server_plan(facts, vips, lan, loopback="loopback", state="present", managed=None, ports=(),
                             firewall=True, firewall_rule="lbstack-real-server-dr"):
    """The steps that prepare a Windows real server (module_utils/windows.py):
    ``facts`` from lbstack.rabbitmq.win_dr_real_server_info, ``vips`` from
    real_server_vips, ``ports`` from real_server_dr_ports. Bad input fails
    with the field's name."""
    try:
        return windows.plan(facts, vips, lan, loopback, state, managed, ports, firewall, firewall_rule)
    except windows.PlanError as exc:
        raise AnsibleFilterError(str(exc))


class FilterModule(object):
    def filters(self):
        return {"real_server_vips": real_server_vips,
                "real_server_labels": real_server_labels,
                "firewalld_redirect_rules": firewalld_redirect_rules,
                "unit_stop_commands": unit_stop_commands,
                "real_server_sysctls": real_server_sysctls,
                "nft_layout": nft_layout,
                "real_server_dr_ports": real_server_dr_ports,
                "windows_real_server_plan": windows_real_server_plan}
