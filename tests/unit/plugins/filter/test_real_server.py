from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.lbstack.rabbitmq.plugins.filter.real_server import (
    FilterModule, firewalld_redirect_rules, nft_layout, real_server_labels, real_server_sysctls, real_server_vips,
    unit_stop_commands)
from ansible_collections.lbstack.rabbitmq.plugins.module_utils import model

INVENTORY = {"groups": {"rabbitmq": ["rabbit1", "rabbit2"]},
             "addresses": {"rabbit1": {"ip": "198.18.0.21", "ip6": "2001:db8:18::21"},
                           "rabbit2": {"ip": "198.18.0.22", "ip6": "2001:db8:18::22"}}}
SERVICES = model.normalize_services([
    {"label": "DR_A", "vip": "198.18.0.100", "vip6": "2001:db8:18::100", "mode": "l4_dr",
     "real_servers_group": "rabbitmq"},
    {"label": "DR_B", "vip": "198.18.0.101", "mode": "l4_dr",
     "real_servers": [{"label": "only2", "ip": "198.18.0.22"}]},
    {"label": "L7", "vip": "198.18.0.102", "mode": "l7_snat", "real_servers_group": "rabbitmq"},
], INVENTORY)


def test_vips_of_direct_routing_services_only():
    assert real_server_vips(SERVICES, "198.18.0.21") == {
        "ipv4": ["198.18.0.100"], "ipv6": ["2001:db8:18::100"],
        "labels": {"198.18.0.100": "DR_A", "2001:db8:18::100": "DR_A"}}
    both = real_server_vips(SERVICES, "198.18.0.22")
    assert both["ipv4"] == ["198.18.0.100", "198.18.0.101"]
    assert both["labels"]["198.18.0.101"] == "DR_B"


def test_a_host_outside_every_service_has_no_vips():
    assert real_server_vips(SERVICES, "198.18.0.99") == {"ipv4": [], "ipv6": [], "labels": {}}


def test_registered_as_a_filter():
    assert FilterModule().filters()["real_server_vips"] is real_server_vips


def test_firewalld_rules_one_tagged_redirect_per_vip():
    rules = firewalld_redirect_rules(real_server_vips(SERVICES, "198.18.0.22"))
    assert [(r["ipv"], r["table"], r["chain"], r["priority"]) for r in rules] == [
        ("ipv4", "nat", "PREROUTING", 0)] * 2 + [("ipv6", "nat", "PREROUTING", 0)]
    assert rules[1]["args"] == "-d 198.18.0.101 -m comment --comment lbstack-real-server:DR_B -j REDIRECT"
    assert rules[2]["args"].startswith("-d 2001:db8:18::100 ")


def test_firewalld_rules_none_without_vips():
    assert firewalld_redirect_rules(real_server_vips(SERVICES, "198.18.0.99")) == []


def test_unit_stop_commands_reads_only_exec_stop_lines_without_prefixes():
    unit = [
        "[Service]",
        "ExecStart=/usr/sbin/ip addr replace 198.18.0.100/32 dev lo",
        "ExecReload=/usr/sbin/ip addr replace 198.18.0.100/32 dev lo",
        "ExecStop=-/usr/sbin/ip addr del 198.18.0.100/32 dev lo",
        "  ExecStop=/usr/sbin/ip -6 addr del 2001:db8:18::100/128 dev lo",
        "ExecStop=",
    ]
    assert unit_stop_commands(unit) == ["/usr/sbin/ip addr del 198.18.0.100/32 dev lo",
                                        "/usr/sbin/ip -6 addr del 2001:db8:18::100/128 dev lo"]
    assert unit_stop_commands([]) == []


def test_real_server_sysctls_for_the_settings_and_the_defaults():
    assert real_server_sysctls(["eth1", "eth0"], 1, 2) == [
        "net.ipv4.conf.all.arp_ignore=1", "net.ipv4.conf.eth0.arp_ignore=1", "net.ipv4.conf.eth1.arp_ignore=1",
        "net.ipv4.conf.all.arp_announce=2", "net.ipv4.conf.eth0.arp_announce=2", "net.ipv4.conf.eth1.arp_announce=2"]
    assert real_server_sysctls([], 0, 0, 1, 1) == [
        "net.ipv4.conf.all.arp_ignore=0", "net.ipv4.conf.all.arp_announce=0",
        "net.ipv6.conf.lo.dad_transmits=1", "net.ipv6.conf.lo.accept_dad=1"]


@pytest.mark.parametrize("interfaces", ["eth0", [""], [None]])
def test_real_server_sysctls_refuses_what_is_not_a_list_of_names(interfaces):
    with pytest.raises(ValueError, match="real_server_interfaces"):
        real_server_sysctls(interfaces, 1, 2)


@pytest.mark.parametrize("kernel, layout", [
    ("6.1.0-28-cloud-amd64", "inet"), ("5.2.0", "inet"), ("5.1.21-1", "legacy"),
    ("4.18.0-553.el8_10.x86_64", "legacy"), ("4.15.0-213-generic", "legacy_postrouting"),
    ("3.10.0-1160.el7.x86_64", "legacy_postrouting")])
def test_nft_layout_by_kernel(kernel, layout):
    assert nft_layout(kernel) == layout


def test_nft_layout_refuses_an_unreadable_release():
    with pytest.raises(ValueError, match="kernel release"):
        nft_layout("unknown")


def test_real_server_labels_name_the_host_in_each_service():
    services = [{"label": "B", "real_servers": [{"label": "Rabbit1", "ip": "198.18.0.21", "ip6": "2001:db8:18::21"}]},
                {"label": "A", "real_servers": [{"label": "r1", "ip": "198.18.0.21", "ip6": None},
                                                {"label": "r2", "ip": "198.18.0.22", "ip6": None}]},
                {"label": "C", "real_servers": [{"label": "v6only", "ip": "198.18.0.99", "ip6": "2001:db8:18::21"}]}]
    assert real_server_labels(services, "198.18.0.21", "2001:db8:18::21") == [
        {"service": "A", "server": "r1"}, {"service": "B", "server": "Rabbit1"}, {"service": "C", "server": "v6only"}]
    assert real_server_labels(services, "198.18.0.50") == []
