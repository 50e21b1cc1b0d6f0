"""The bad-input catalogue: each inventory in fixtures/bad_inventories/cases,
loaded over a valid base as Ansible loads it, is refused by site.yml's
preflight (its own code, no hosts) with the field its header names and a
message that says what is wrong; a secret's value never appears."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import re
from pathlib import Path

import inventory_loader
import pytest

from ansible_collections.lbstack.rabbitmq.plugins.module_utils import model

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "bad_inventories"
CASES = sorted(FIXTURES.glob("cases/*.yml"))
SECRETS = ("rabbitmq_cluster_erlang_cookie", "rabbitmq_cluster_admin_password", "rabbitmq_cluster_tls_private_key")


def header(path):
    """``{field, error, ...}`` from the case's leading comments."""
    found = {}
    for line in path.read_text().splitlines():
        match = re.match(r"^# (field|error): (.*)$", line)
        if match:
            found[match.group(1)] = match.group(2)
    return found


def facts_of(hostvars):
    """Gathered facts as setup returns them for a host with one interface,
    eth0, on the address it is reached at, then the case's test_facts."""
    def facts(host):
        values = hostvars[host]
        out = {"distribution": "Debian", "distribution_major_version": "13", "distribution_version": "13.2",
               "service_mgr": "systemd", "interfaces": ["lo", "eth0"]}
        address = values.get("lbstack_ip") or values.get("ansible_host")
        try:
            ipaddress.IPv4Address(str(address))
        except ValueError:
            address = None
        if address:
            out["default_ipv4"] = {"address": address, "interface": "eth0"}
            out["eth0"] = {"ipv4": {"address": address, "netmask": "255.255.255.0"},
                           "ipv6": [{"address": values["lbstack_ipv6"], "prefix": "64", "scope": "global"}]
                           if values.get("lbstack_ipv6") else []}
        out.update(values.get("test_facts") or {})
        return out
    return facts


def refuse(case):
    hostvars, groups = inventory_loader.load([FIXTURES / "base.yml"] + ([case] if case else []))
    return inventory_loader.model_of(hostvars, groups, facts_of(hostvars)), hostvars


def test_the_base_inventory_is_valid():
    (normalized, inventory), _hostvars = refuse(None)
    assert [s["label"] for s in normalized] == ["RabbitMQ_HA"]
    assert sorted(inventory["addresses"]) == ["lb1", "lb2", "rabbit1", "rabbit2", "rabbit3"]


def test_the_catalogue_has_at_least_40_cases_each_with_field_and_error():
    assert len(CASES) >= 40
    for case in CASES:
        assert set(header(case)) == {"field", "error"}, case.name


@pytest.mark.parametrize("case", CASES, ids=[c.stem for c in CASES])
def test_the_preflight_refuses_the_case_naming_the_field(case):
    expected = header(case)
    with pytest.raises(model.ModelError) as caught:
        refuse(case)
    assert caught.value.field == expected["field"], str(caught.value)
    message = str(caught.value)
    assert message.startswith(expected["field"] + ": ")
    assert expected["error"] in message
    hostvars, _groups = inventory_loader.load([FIXTURES / "base.yml", case])
    for values in hostvars.values():
        for name in SECRETS:
            if values.get(name):
                assert str(values[name]) not in message, name
