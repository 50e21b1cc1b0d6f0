from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.lbstack.rabbitmq.plugins.filter.load_balancer import (
    FilterModule, director_network_problem, interface_networks)
from ansible_collections.lbstack.rabbitmq.plugins.module_utils import model

FACTS = {
    "interfaces": ["lo", "eth0"],
    "lo": {"ipv4": {"address": "127.0.0.1", "netmask": "255.0.0.0"},
           "ipv6": [{"address": "::1", "prefix": "128", "scope": "host"}]},
    "eth0": {"ipv4": {"address": "198.18.0.11", "netmask": "255.255.255.0"},
             "ipv4_secondaries": [{"address": "198.18.0.100", "netmask": "255.255.255.255"}],
             "ipv6": [{"address": "2001:db8:18::11", "prefix": "64", "scope": "global"},
                      {"address": "fe80::1", "prefix": "64", "scope": "link"}]},
}
DR = model.normalize_services([{
    "label": "DR", "vip": "198.18.0.100", "vip6": "2001:db8:18::100", "mode": "l4_dr",
    "real_servers": [{"label": "r1", "ip": "198.18.0.21", "ip6": "2001:db8:18::21"}]}], {})


def test_interface_networks_from_facts():
    assert interface_networks(FACTS) == ["127.0.0.0/8", "198.18.0.0/24", "198.18.0.100/32",
                                         "2001:db8:18::/64", "::1/128"]


def test_problem_names_the_real_server_field():
    assert director_network_problem(DR, "lb1", FACTS) == ""
    facts = dict(FACTS, eth0=dict(FACTS["eth0"], ipv4={"address": "198.19.0.11", "netmask": "255.255.255.0"}))
    problem = director_network_problem(DR, "lb1", facts)
    assert problem.startswith("lbstack_virtual_services[0].real_servers[0].ip: 198.18.0.21 is in no subnet"
                              " of director 'lb1'")
    assert FilterModule().filters()["director_network_problem"] is director_network_problem
