# -*- coding: utf-8 -*-
# Copyright: (c) 2026, lbstack.rabbitmq contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Windows real server plan against the guide's manual procedure."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.lbstack.rabbitmq.plugins.module_utils import windows

# Copied by hand from the guide ("Windows Server 2012 & Later", step 3 of 3,
# option 1), for a LAN adapter named "net" and a loopback adapter "loopback".
GUIDE_IPV4 = [
    'netsh interface ipv4 set interface "net" weakhostreceive=enabled',
    'netsh interface ipv4 set interface "loopback" weakhostreceive=enabled',
    'netsh interface ipv4 set interface "loopback" weakhostsend=enabled',
]
GUIDE_IPV6 = [
    'netsh interface ipv6 set interface "net" weakhostreceive=enabled',
    'netsh interface ipv6 set interface "loopback" weakhostreceive=enabled',
    'netsh interface ipv6 set interface "loopback" weakhostsend=enabled',
    'netsh interface ipv6 set interface "loopback" dadtransmits=0',
]
VIPS = {"ipv4": ["198.18.0.100"], "ipv6": ["2001:db8:18::100"], "labels": {}}
FRESH = {"loopback": {"name": "loopback", "present": False, "ours": False}, "addresses": [],
         "interfaces": {"ipv4": {"net": {"weakhostreceive": "disabled", "weakhostsend": "disabled", "dadtransmits": 0}},
                        "ipv6": {"net": {"weakhostreceive": "disabled", "weakhostsend": "disabled", "dadtransmits": 1}}}}


def converged(vips=None):
    vips = VIPS if vips is None else vips
    settings = {"weakhostreceive": "enabled", "weakhostsend": "enabled", "dadtransmits": 0}
    bindings = {"ms_tcpip": bool(vips.get("ipv4")), "ms_tcpip6": bool(vips.get("ipv6")), "ms_server": False,
                "ms_msclient": False, "ms_pacer": False, "ms_lltdio": False, "ms_rspndr": False}
    return {"loopback": {"name": "loopback", "present": True, "ours": True, "bindings": bindings},
            "firewall": {"name": "lbstack-real-server-dr", "ports": [5672],
                         "addresses": [a for f in windows.FAMILIES for a in vips.get(f, [])]},
            "addresses": [{"family": f, "address": a, "prefix": windows.PREFIX[f]}
                          for f in windows.FAMILIES for a in vips.get(f, [])],
            "interfaces": dict((f, {"net": {"weakhostreceive": "enabled", "weakhostsend": "disabled", "dadtransmits": 1},
                                    "loopback": dict(settings)}) for f in windows.FAMILIES)}


def plan(facts, vips, lan, *args, **kwargs):
    kwargs.setdefault("ports", [5672])
    return windows.plan(facts, vips, lan, *args, **kwargs)


def commands(result):
    return [step["command"] for step in result["steps"]]


def test_guide_commands_both_families():
    assert windows.guide_commands(VIPS, "net", "loopback") == GUIDE_IPV4 + GUIDE_IPV6


def test_guide_commands_ipv4_only():
    assert windows.guide_commands({"ipv4": ["198.18.0.100"]}, "net", "loopback") == GUIDE_IPV4


def test_fresh_host_gets_the_guide_steps():
    result = plan(FRESH, VIPS, "net")
    actions = [step["action"] for step in result["steps"]]
    assert actions[0] == "install_loopback"
    # Step 2: the IP protocols bound, the addresses, every other item unbound.
    assert commands(result)[1:5] == ['Enable-NetAdapterBinding -Name "loopback" -ComponentID ms_tcpip',
                                     'Enable-NetAdapterBinding -Name "loopback" -ComponentID ms_tcpip6',
                                     'netsh interface ipv4 add address "loopback" 198.18.0.100 255.255.255.255',
                                     'netsh interface ipv6 add address "loopback" 2001:db8:18::100/128']
    assert result["steps"][5]["action"] == "disable_other_bindings"
    assert result["steps"][5]["keep"] == ["ms_tcpip", "ms_tcpip6"]
    # Step 3: the guide's commands, in its order; then the firewall rule.
    assert commands(result)[6:-1] == GUIDE_IPV4 + GUIDE_IPV6
    assert commands(result)[-1] == ('New-NetFirewallRule -Name "lbstack-real-server-dr" -Direction Inbound -Action Allow'
                                    ' -Protocol TCP -LocalAddress 198.18.0.100,2001:db8:18::100 -LocalPort 5672'
                                    ' -Profile Any')


def test_without_the_firewall_rule():
    facts = converged()
    result = plan(facts, VIPS, "net", firewall=False)
    assert commands(result) == ['Remove-NetFirewallRule -Name "lbstack-real-server-dr"']
    facts["firewall"] = None
    assert plan(facts, VIPS, "net", firewall=False)["steps"] == []


def test_ipv4_only_unbinds_ipv6_from_the_loopback_adapter():
    facts = converged()
    result = plan(facts, {"ipv4": ["198.18.0.100"]}, "net")
    assert commands(result) == ['netsh interface ipv6 delete address "loopback" 2001:db8:18::100',
                                'Disable-NetAdapterBinding -Name "loopback" -ComponentID ms_tcpip6',
                                'Set-NetFirewallRule -Name "lbstack-real-server-dr" -Direction Inbound -Action Allow'
                                ' -Protocol TCP -LocalAddress 198.18.0.100 -LocalPort 5672 -Profile Any']


def test_an_item_bound_by_hand_is_unbound_again():
    facts = converged()
    facts["loopback"]["bindings"]["ms_server"] = True
    assert commands(plan(facts, VIPS, "net")) == [
        'Disable-NetAdapterBinding -Name "loopback" -ComponentID ms_server']


def test_converged_host_has_nothing_to_do():
    assert plan(converged(), VIPS, "net")["steps"] == []


def test_other_adapter_names():
    facts = converged({"ipv4": ["198.18.0.100"]})
    facts["interfaces"]["ipv4"]["Ethernet 2"] = facts["interfaces"]["ipv4"].pop("net")
    facts["interfaces"]["ipv4"]["Ethernet 2"]["weakhostreceive"] = "disabled"
    result = plan(facts, {"ipv4": ["198.18.0.100"]}, "Ethernet 2")
    assert commands(result) == ['netsh interface ipv4 set interface "Ethernet 2" weakhostreceive=enabled']


def test_several_vips_and_a_vip_the_model_dropped():
    facts = converged({"ipv4": ["198.18.0.100", "198.18.0.102"]})
    result = plan(facts, {"ipv4": ["198.18.0.101", "198.18.0.100"]}, "net")
    assert commands(result) == ['netsh interface ipv4 delete address "loopback" 198.18.0.102',
                                'netsh interface ipv4 add address "loopback" 198.18.0.101 255.255.255.255',
                                'Set-NetFirewallRule -Name "lbstack-real-server-dr" -Direction Inbound -Action Allow'
                                ' -Protocol TCP -LocalAddress 198.18.0.100,198.18.0.101 -LocalPort 5672 -Profile Any']


def test_an_address_added_by_hand_is_left_alone_when_the_managed_ones_are_known():
    facts = converged({"ipv4": ["198.18.0.100", "198.18.0.150"]})
    facts["firewall"]["addresses"] = ["198.18.0.100"]
    result = plan(facts, {"ipv4": ["198.18.0.100"]}, "net", managed={"ipv4": ["198.18.0.100"]})
    assert result["steps"] == []


def test_a_changed_setting_is_set_back():
    facts = converged()
    facts["interfaces"]["ipv6"]["loopback"]["dadtransmits"] = 3
    assert commands(plan(facts, VIPS, "net")) == ['netsh interface ipv6 set interface "loopback" dadtransmits=0']


def test_an_adapter_of_another_kind_is_refused():
    facts = converged()
    facts["loopback"]["ours"] = False
    with pytest.raises(windows.PlanError, match="real_server_windows_loopback_adapter"):
        plan(facts, VIPS, "net")


def test_absent_undoes_everything():
    result = plan(converged(), VIPS, "net", state="absent")
    assert commands(result)[:2] == ['netsh interface ipv4 set interface "net" weakhostreceive=disabled',
                                    'netsh interface ipv6 set interface "net" weakhostreceive=disabled']
    assert [step["action"] for step in result["steps"]][2:] == ["remove_firewall_rule", "remove_loopback"]
    assert result["after"]["loopback"] is None


def test_absent_on_a_clean_host_changes_nothing():
    assert plan(FRESH, VIPS, "net", state="absent")["steps"] == []


@pytest.mark.parametrize("vips, lan, loopback, state, message", [
    ({"ipv4": ["198.18.0.300"]}, "net", "loopback", "present", "real_server_vips.ipv4"),
    ({"ipv4": ["2001:db8::1"]}, "net", "loopback", "present", "not an IPv4 address"),
    ({"ipv4": ["198.18.0.100"]}, "", "loopback", "present", "real_server_windows_lan_adapter"),
    ({"ipv4": ["198.18.0.100"]}, 'a"b', "loopback", "present", "real_server_windows_lan_adapter"),
    ({"ipv4": ["198.18.0.100"]}, "net", "net", "present", "both 'net'"),
    ({"ipv4": ["198.18.0.100"]}, "net", "loopback", "gone", "real_server_state"),
    ({"ipv4": []}, "net", "loopback", "present", "no Direct Routing service"),
])
def test_bad_input_names_the_field(vips, lan, loopback, state, message):  # pylint: disable=too-many-arguments
    with pytest.raises(windows.PlanError, match=message):
        plan(FRESH, vips, lan, loopback, state)


def test_a_firewall_rule_without_ports_is_refused():
    with pytest.raises(windows.PlanError, match="real_server_windows_firewall"):
        windows.plan(FRESH, VIPS, "net", ports=[])


def test_ports_of_the_direct_routing_services_of_this_server():
    services = [
        {"mode": "l4_dr", "ports": [5672, 5671], "real_servers": [{"ip": "198.18.0.41"}]},
        {"mode": "l4_dr", "ports": [15672], "real_servers": [{"ip": "198.18.0.42"}]},
        {"mode": "l7_snat", "ports": [5673], "real_servers": [{"ip": "198.18.0.41"}]},
    ]
    assert windows.dr_ports(services, "198.18.0.41") == [5671, 5672]
