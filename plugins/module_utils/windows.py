# -*- coding: utf-8 -*-
# Copyright: (c) 2026, lbstack.rabbitmq contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A Windows real server for Direct Routing, as a plan of steps.

The guide's procedure ("Windows Server 2012 & Later"): a Microsoft KM-TEST
Loopback Adapter carries each Direct Routing VIP the server is a real server
for (IPv4 with mask 255.255.255.255, IPv6 with prefix 128); the client-facing
adapter gets weak-host receive, the loopback adapter weak-host receive and
send, and for IPv6 the loopback adapter sends no duplicate address detection
probes (DAD transmits 0).

No Windows host and no PowerShell run where the collection is tested, so the
decisions live here, in Python: ``plan`` compares what a host has (the facts
that the PowerShell module lbstack.rabbitmq.win_dr_real_server reads) with
what the model wants, and returns the steps, each with the netsh command the
guide would type for it. The PowerShell side only carries the steps out.

Facts, as the PowerShell module reads them::

    {"loopback": {"name": "loopback", "present": true, "ours": true},
     "addresses": [{"family": "ipv4", "address": "198.18.0.100", "prefix": 32}],
     "interfaces": {"ipv4": {"net": {"weakhostreceive": "disabled",
                                     "weakhostsend": "disabled",
                                     "dadtransmits": 0}, ...},
                    "ipv6": {...}}}

``ours`` is whether the adapter named ``loopback`` is a KM-TEST Loopback
Adapter (an adapter of another kind under that name is refused, never changed).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress

LOOPBACK_DESCRIPTION = "Microsoft KM-TEST Loopback Adapter"
FAMILIES = ("ipv4", "ipv6")
PREFIX = {"ipv4": 32, "ipv6": 128}
# Windows' own values, which state absent puts back: strong host in both
# directions, and one DAD probe for IPv6 (netsh's default dadtransmits).
DEFAULTS = {"weakhostreceive": "disabled", "weakhostsend": "disabled", "dadtransmits": 1}


def _key(address):
    parsed = ipaddress.ip_address(address)
    return parsed.version, int(parsed)


class PlanError(Exception):
    """Input that no plan can be made from; the message names the field."""


def _vips(vips):
    """``real_server_vips`` output -> {"ipv4": [...], "ipv6": [...]} checked and sorted."""
    out = {}
    for family, version in (("ipv4", 4), ("ipv6", 6)):
        addresses = []
        for vip in vips.get(family, []) or []:
            try:
                parsed = ipaddress.ip_address(str(vip))
            except ValueError:
                raise PlanError("real_server_vips.%s: %r is not an IP address" % (family, vip))
            if parsed.version != version:
                raise PlanError("real_server_vips.%s: %s is not an IPv%d address" % (family, vip, version))
            addresses.append(str(parsed))
        out[family] = sorted(set(addresses), key=_key)
    return out


def _name(field, value):
    if not isinstance(value, str) or not value.strip() or '"' in value:
        raise PlanError("%s: %r is not an adapter name (non-empty, no double quote)" % (field, value))
    return value


def wanted_settings(vips, lan, loopback):
    """The interface settings of the guide's step 3 for these VIPs, in its order:
    ``[(family, adapter, setting, value)]``. Only the families that have a VIP."""
    out = []
    for family in FAMILIES:
        if not vips[family]:
            continue
        out += [(family, lan, "weakhostreceive", "enabled"),
                (family, loopback, "weakhostreceive", "enabled"),
                (family, loopback, "weakhostsend", "enabled")]
        if family == "ipv6":
            out.append((family, loopback, "dadtransmits", 0))
    return out


def wanted_bindings(vips):
    """Step 2 of the guide: on the loopback adapter every item unchecked but
    the IP version(s) of its VIPs. ``{component id: enabled}`` for the IP
    protocols; every other binding the adapter has is to be disabled."""
    return {"ms_tcpip": bool(vips["ipv4"]), "ms_tcpip6": bool(vips["ipv6"])}


def _binding_step(adapter, component, enabled):
    return {"action": "set_binding", "adapter": adapter, "component": component, "enabled": enabled,
            "command": '%s-NetAdapterBinding -Name "%s" -ComponentID %s'
                       % ("Enable" if enabled else "Disable", adapter, component)}


def _set_step(family, adapter, setting, value):
    return {"action": "set_interface", "family": family, "adapter": adapter, "setting": setting,
            "value": value,
            "command": 'netsh interface %s set interface "%s" %s=%s' % (family, adapter, setting, value)}


def _address_step(action, family, adapter, address):
    if family == "ipv4":
        command = 'netsh interface ipv4 %s address "%s" %s%s' % (
            action, adapter, address, " 255.255.255.255" if action == "add" else "")
    else:
        command = 'netsh interface ipv6 %s address "%s" %s%s' % (
            action, adapter, address, "/128" if action == "add" else "")
    return {"action": action + "_address", "family": family, "adapter": adapter, "address": address,
            "prefix": PREFIX[family], "command": command}


def _current_setting(facts, family, adapter, setting):
    return ((facts.get("interfaces") or {}).get(family) or {}).get(adapter, {}).get(setting)


def _same(current, value):
    return current is not None and str(current).lower() == str(value).lower()


def dr_ports(services, address):
    """The TCP ports of the Direct Routing services in which ``address`` is a real server."""
    return sorted(set(int(port) for svc in services if svc["mode"] == "l4_dr"
                      and any(rs["ip"] == address for rs in svc["real_servers"]) for port in svc["ports"]))


def _firewall_step(action, name, addresses=(), ports=()):
    if action == "remove_firewall_rule":
        command = 'Remove-NetFirewallRule -Name "%s"' % name
    else:
        cmdlet = "New-NetFirewallRule" if action == "add_firewall_rule" else "Set-NetFirewallRule"
        command = ('%s -Name "%s" -Direction Inbound -Action Allow -Protocol TCP -LocalAddress %s -LocalPort %s'
                   ' -Profile Any' % (cmdlet, name, ",".join(addresses), ",".join(str(p) for p in ports)))
    return {"action": action, "name": name, "addresses": list(addresses), "ports": list(ports), "command": command}


def plan(facts, vips, lan, loopback="loopback", state="present", managed=None, ports=(), firewall=True,
         firewall_rule="lbstack-real-server-dr"):
    """The steps that take a host from ``facts`` to the wanted state.

    ``vips``: the VIPs this host serves (``real_server_vips``); ``lan``: the
    client-facing adapter; ``loopback``: the loopback adapter's name;
    ``state``: present or absent; ``managed``: the VIPs a previous run put on
    the loopback adapter (so that a VIP the model no longer has is removed,
    and an address an operator added by hand is left alone; None: every
    address on the adapter is the collection's, as when it installed it).
    ``ports``: the services' TCP ports, which the firewall rule
    ``firewall_rule`` lets in to the VIPs when ``firewall`` is true (the
    rule is removed otherwise, and with state absent).
    Returns ``{"steps": [...], "before": {...}, "after": {...}}``; the steps
    are empty when the host is as wanted.
    """
    lan = _name("real_server_windows_lan_adapter", lan)
    loopback = _name("real_server_windows_loopback_adapter", loopback)
    if lan == loopback:
        raise PlanError("real_server_windows_lan_adapter and real_server_windows_loopback_adapter are both %r" % lan)
    if state not in ("present", "absent"):
        raise PlanError("real_server_state: %r must be present or absent" % (state,))
    wanted = _vips(vips)
    adapter = facts.get("loopback") or {}
    if adapter.get("present") and not adapter.get("ours"):
        raise PlanError("real_server_windows_loopback_adapter: the adapter %r is not a %s; rename it or name"
                        " another adapter" % (loopback, LOOPBACK_DESCRIPTION))
    have = dict((f, sorted(set(a["address"] for a in facts.get("addresses") or [] if a["family"] == f)))
                for f in FAMILIES)
    steps = []
    if state == "present":
        if not (wanted["ipv4"] or wanted["ipv6"]):
            raise PlanError("this host is a real server of no Direct Routing service (no VIP to carry)")
        present = bool(adapter.get("present"))
        if not present:
            steps.append({"action": "install_loopback", "adapter": loopback,
                          "command": "install %s as %r (SetupAPI, netloop.inf, hardware ID *MSLOOP)"
                                     % (LOOPBACK_DESCRIPTION, loopback)})
        # Step 2: the IP protocol(s) of its VIPs bound, every other item unbound
        # (those turned on first, so that the addresses below have their family).
        have_bindings = adapter.get("bindings") or {}
        bindings = dict((component, False) for component in have_bindings)
        bindings.update(wanted_bindings(wanted))
        turn = [(c, bindings[c]) for c in sorted(bindings)
                if (c in have_bindings and bool(have_bindings[c]) != bindings[c]) or (c not in have_bindings and bindings[c])]
        steps += [_binding_step(loopback, c, on) for c, on in turn if on]
        for family in FAMILIES:
            ours = set(have[family]) if managed is None else set(have[family]) & set(_vips(managed)[family])
            for address in sorted(ours - set(wanted[family]), key=_key):
                steps.append(_address_step("delete", family, loopback, address))
            for address in wanted[family]:
                if address not in have[family]:
                    steps.append(_address_step("add", family, loopback, address))
        steps += [_binding_step(loopback, c, on) for c, on in turn if not on]
        if not present:
            # A new adapter's other items are known only once it exists.
            keep = sorted(c for c, on in bindings.items() if on)
            steps.append({"action": "disable_other_bindings", "adapter": loopback, "keep": keep,
                          "command": 'Get-NetAdapterBinding -Name "%s" | Where-Object ComponentID -notin %s'
                                     " | Disable-NetAdapterBinding" % (loopback, ",".join(keep))})
        # Step 3: weak host (and DAD for IPv6).
        for family, name, setting, value in wanted_settings(wanted, lan, loopback):
            if (name == loopback and not present) or not _same(_current_setting(facts, family, name, setting), value):
                steps.append(_set_step(family, name, setting, value))
        rule = None
        have_rule = facts.get("firewall")
        if firewall:
            if not ports:
                raise PlanError("real_server_windows_firewall: no Direct Routing port for the firewall rule")
            rule = {"name": firewall_rule, "addresses": wanted["ipv4"] + wanted["ipv6"],
                    "ports": sorted(int(p) for p in ports)}
            if not have_rule:
                steps.append(_firewall_step("add_firewall_rule", firewall_rule, rule["addresses"], rule["ports"]))
            elif (sorted(have_rule.get("addresses") or [], key=_key)
                  != sorted(rule["addresses"], key=_key)
                  or sorted(int(p) for p in have_rule.get("ports") or []) != rule["ports"]):
                steps.append(_firewall_step("set_firewall_rule", firewall_rule, rule["addresses"], rule["ports"]))
        elif have_rule:
            steps.append(_firewall_step("remove_firewall_rule", firewall_rule))
        after = {"loopback": loopback, "addresses": wanted, "bindings": bindings,
                 "settings": wanted_settings(wanted, lan, loopback), "firewall": rule}
    else:
        # Undo: the LAN adapter back to strong-host receive for the families
        # the model uses (what the role set), then the loopback adapter goes,
        # with its addresses and settings.
        families = [f for f in FAMILIES if wanted[f] or have[f]] or list(FAMILIES)
        for family in families:
            current = _current_setting(facts, family, lan, "weakhostreceive")
            if current is not None and not _same(current, DEFAULTS["weakhostreceive"]):
                steps.append(_set_step(family, lan, "weakhostreceive", DEFAULTS["weakhostreceive"]))
        if facts.get("firewall"):
            steps.append(_firewall_step("remove_firewall_rule", firewall_rule))
        if adapter.get("present"):
            steps.append({"action": "remove_loopback", "adapter": loopback,
                          "command": "remove the %s %r (and its addresses and settings)"
                                     % (LOOPBACK_DESCRIPTION, loopback)})
        after = {"loopback": None, "addresses": {"ipv4": [], "ipv6": []}, "bindings": {}, "settings": [],
                 "firewall": None}
    before = {"loopback": loopback if adapter.get("present") else None, "addresses": have,
              "bindings": adapter.get("bindings") or {}, "firewall": facts.get("firewall"),
              "settings": [(f, n, s, _current_setting(facts, f, n, s))
                           for f, n, s, _v in wanted_settings(wanted, lan, loopback)]}
    return {"steps": steps, "before": before, "after": after}


def guide_commands(vips, lan, loopback):
    """The netsh commands of the guide's step 3 for these VIPs (what an operator
    types by hand), for comparison with a plan's commands."""
    settings = wanted_settings(_vips(vips), _name("lan", lan), _name("loopback", loopback))
    return [_set_step(*item)["command"] for item in settings]
