"""The example inventories of docs/examples/inventories load, decrypt and pass the
model checks that site.yml's preflight runs, and the environments are kept apart."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
from pathlib import Path

import inventory_loader
import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples" / "inventories"
ENVIRONMENTS = ["staging", "production"]


def load(env):
    password = (EXAMPLES / "vault-password.example").read_text().strip().encode()
    return inventory_loader.load(
        [EXAMPLES / env / "hosts.yml"], password,
        keep=lambda k: k.startswith(("lbstack_", "load_balancer_", "rabbitmq_cluster_",
                                     "ansible_host", "ansible_user", "ansible_become")))


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_example_inventory_passes_the_preflight_model_checks(env):
    hostvars, groups = load(env)
    normalized, inventory = inventory_loader.model_of(hostvars, groups)
    assert len(normalized) == 1 and len(normalized[0]["real_servers"]) == 3
    # reached by name, served on the address from host_vars
    for host, values in hostvars.items():
        assert not re.match(r"^[0-9.]+$", values["ansible_host"]), host
        assert inventory["addresses"][host]["ip"] == values["lbstack_ip"]
        assert values["ansible_user"] != "root" and values["ansible_become"] is True


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_example_secrets_are_vaulted_and_valid(env):
    vault = EXAMPLES / env / "group_vars" / "all" / "vault.yml"
    assert vault.read_text().startswith("$ANSIBLE_VAULT;")
    hostvars, _groups = load(env)
    for values in hostvars.values():
        assert re.match(r"^[A-Za-z0-9]{20,255}$", values["rabbitmq_cluster_erlang_cookie"])
        assert len(values["rabbitmq_cluster_admin_password"]) >= 8


def test_environments_do_not_share_vips_router_ids_or_secrets():
    seen = {}
    for env in ENVIRONMENTS:
        hostvars, groups = load(env)
        lb = hostvars[groups["load_balancers"][0]]
        mq = hostvars[groups["rabbitmq"][0]]
        seen[env] = (lb["load_balancer_vrrp_router_id"],
                     frozenset(s["vip"] for s in lb["lbstack_virtual_services"]),
                     mq["rabbitmq_cluster_erlang_cookie"])
    staging, production = seen["staging"], seen["production"]
    assert staging[0] != production[0]
    assert not staging[1] & production[1]
    assert staging[2] != production[2]
