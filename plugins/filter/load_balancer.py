# -*- coding: utf-8 -*-
# Copyright: (c) 2026, lbstack.rabbitmq contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters for the load balancers: checks that need a director's own facts."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress

from ansible_collections.lbstack.rabbitmq.plugins.module_utils import model


def interface_networks(facts):
    """The networks (CIDR strings) of every interface in gathered facts."""
    networks = set()
    for name in facts.get("interfaces", []):
        iface = facts.get(name.replace("-", "_")) or facts.get(name) or {}
        v4 = iface.get("ipv4")
        for entry in ([v4] if isinstance(v4, dict) else (v4 or [])) + list(iface.get("ipv4_secondaries") or []):
            if entry.get("address") and entry.get("netmask"):
                networks.add(str(ipaddress.ip_interface(
                    u"%s/%s" % (entry["address"], entry["netmask"])).network))
        for entry in iface.get("ipv6") or []:
            if entry.get("address") and entry.get("prefix") and entry.get("scope") != "link":
                networks.add(str(ipaddress.ip_interface(
                    u"%s/%s" % (entry["address"].split("%")[0], entry["prefix"])).network))
    return sorted(networks)


def director_network_problem(services, director, facts):
    """'' when ``director`` has an interface in every l4_dr real server's subnet,
    else the message naming the field (see model.check_director_networks)."""
    try:
        model.check_director_networks(services, director, interface_networks(facts))
    except model.ModelError as exc:
        return str(exc)
    return ""


class FilterModule(object):
    def filters(self):
        return {"director_network_problem": director_network_problem}
