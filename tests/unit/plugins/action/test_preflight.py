"""The preflight action's view of the inventory, and its copies of role defaults."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

from pathlib import Path

import pytest
import yaml

from ansible_collections.lbstack.rabbitmq.plugins.action import preflight
from ansible_collections.lbstack.rabbitmq.plugins.module_utils import model

ROLES = Path(__file__).resolve().parents[4] / "roles"


def role_defaults(role):
    return yaml.safe_load((ROLES / role / "defaults" / "main.yml").read_text())


def test_pair_defaults_are_the_load_balancer_roles():
    defaults = role_defaults("load_balancer")
    for name, value in preflight.PAIR_VARIABLES.items():
        if name.startswith("load_balancer_"):
            assert defaults[name] == value, name


def test_broker_defaults_are_the_rabbitmq_cluster_roles():
    defaults = role_defaults("rabbitmq_cluster")
    for name, value in preflight.BROKER_DEFAULTS.items():
        assert defaults[name] == value, name


FACTS = {"default_ipv4": {"address": "198.18.0.11", "interface": "ens3"}}


def reader(hostvars):
    """What the action hands gather_inventory: a variable of a host, or the role default."""
    return lambda host, name, default=None: hostvars[host].get(
        name, preflight.BROKER_DEFAULTS.get(name) if default is None else default)


def test_inventory_with_names_and_management_addresses():
    hostvars = {
        # reached by name; the service address comes from the facts
        "lb-a": {"ansible_host": "lb-a.example.org", "ansible_facts": FACTS},
        # reached on a management network; the service address is set
        "lb-b": {"ansible_host": "192.0.2.12", "lbstack_ip": "198.18.0.12"},
        "mq-1": {"ansible_host": "198.18.0.21", "rabbitmq_cluster_port": 5673},
    }
    groups = {"load_balancers": ["lb-a", "lb-b"], "rabbitmq": ["mq-1"], "all": list(hostvars)}
    inventory = preflight.gather_inventory(reader(hostvars), groups, ["lb-a", "lb-b"], ["mq-1"], [])
    assert inventory["addresses"]["lb-a"]["ip"] == "198.18.0.11"
    assert inventory["load_balancers"]["lb-b"] == ["198.18.0.12", None]
    assert inventory["brokers"]["mq-1"] == {"port": 5673, "tls_port": None, "proxy_protocol": False}


def test_a_name_without_facts_is_refused_with_the_variable_to_set():
    hostvars = {"lb-a": {"ansible_host": "lb-a.example.org"}}
    with pytest.raises(model.ModelError, match="host 'lb-a': no service network address: set lbstack_ip"):
        preflight.gather_inventory(reader(hostvars), {"load_balancers": ["lb-a"]}, ["lb-a"], [], [])


def test_members_of_a_real_servers_group_get_addresses():
    hostvars = {"rs1": {"ansible_host": "198.18.0.41", "lbstack_ipv6": "2001:db8:18::41"}}
    inventory = preflight.gather_inventory(reader(hostvars), {"real_servers": ["rs1"]}, [], [],
                                           [{"real_servers_group": "real_servers"}])
    assert inventory["addresses"]["rs1"] == {"ip": "198.18.0.41", "ip6": "2001:db8:18::41"}


def test_a_role_used_on_its_own_checks_only_its_own_variables():
    hostvars = {"lb1": {"load_balancer_vrrp_router_id": 51}, "mq1": {}}
    read = reader(hostvars)
    preflight.check_role_settings(read, ["lb1"], ["mq1"], ["load_balancer"])
    with pytest.raises(model.ModelError, match="rabbitmq_cluster_erlang_cookie: host 'mq1': not set"):
        preflight.check_role_settings(read, ["lb1"], ["mq1"])
    hostvars["lb1"]["load_balancer_vrrp_router_id"] = 0
    with pytest.raises(model.ModelError, match="load_balancer_vrrp_router_id: host 'lb1': 0 is outside 1..255"):
        preflight.check_role_settings(read, ["lb1"], ["mq1"], ["load_balancer"])
