"""The Windows example inventory (docs/examples/inventories/windows): the model
site.yml's preflight computes from it, and what real_server_windows would do on
a fresh Windows host of it, step by step against the guide's commands."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

from pathlib import Path

import inventory_loader
import pytest
import test_bad_inventories

from ansible_collections.lbstack.rabbitmq.plugins.filter import real_server as filters
from ansible_collections.lbstack.rabbitmq.plugins.module_utils import model, windows

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "inventories" / "windows" / "hosts.yml"
FRESH = {"loopback": {"name": "loopback", "present": False, "ours": False}, "addresses": [], "firewall": None,
         "interfaces": {"ipv4": {"Ethernet": {"weakhostreceive": "disabled", "weakhostsend": "disabled", "dadtransmits": 0}},
                        "ipv6": {"Ethernet": {"weakhostreceive": "disabled", "weakhostsend": "disabled", "dadtransmits": 1}}}}


def load():
    # The WinRM password comes from a vault the example does not ship.
    return inventory_loader.load([EXAMPLE], keep=lambda k: k.startswith(
        ("lbstack_", "load_balancer_", "real_server_", "ansible_host", "ansible_connection")))


def example_model():
    hostvars, groups = load()
    normalized, inventory = inventory_loader.model_of(hostvars, groups, test_bad_inventories.facts_of(hostvars))
    return hostvars, groups, normalized, inventory


def test_the_model_takes_the_windows_hosts_as_real_servers():
    _hostvars, groups, normalized, inventory = example_model()
    assert groups["windows_real_servers"] == ["win1", "win2"]
    assert [rs["ip"] for rs in normalized[0]["real_servers"]] == ["198.18.0.41", "198.18.0.42"]
    assert inventory["feedback_agents"] == {}


@pytest.mark.parametrize("host", ["win1", "win2"])
def test_a_fresh_windows_host_gets_the_guides_procedure(host):
    _hostvars, _groups, normalized, inventory = example_model()
    address = inventory["addresses"][host]["ip"]
    vips = filters.real_server_vips(normalized, address)
    ports = filters.real_server_dr_ports(normalized, address)
    assert vips["ipv4"] == ["198.18.0.110"] and vips["ipv6"] == ["2001:db8:18::110"] and ports == [5672]
    steps = filters.windows_real_server_plan(FRESH, vips, "Ethernet", ports=ports)["steps"]
    commands = [step["command"] for step in steps]
    assert steps[0]["action"] == "install_loopback"
    assert 'netsh interface ipv4 add address "loopback" 198.18.0.110 255.255.255.255' in commands
    assert 'netsh interface ipv6 add address "loopback" 2001:db8:18::110/128' in commands
    # Step 3 of the guide, for a LAN adapter named "Ethernet" instead of "net".
    guide = [line.replace('"net"', '"Ethernet"') for line in
             windows.guide_commands(vips, "net", "loopback")]
    assert [c for c in commands if c.startswith("netsh interface") and " set interface " in c] == guide


def test_a_windows_broker_is_refused():
    hostvars, groups = load()
    groups["rabbitmq"] = ["win1"]
    with pytest.raises(model.ModelError, match="installs no RabbitMQ"):
        inventory_loader.model_of(hostvars, groups, test_bad_inventories.facts_of(hostvars))
