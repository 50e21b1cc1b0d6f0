"""testinfra hosts of the lab, by group, reached over SSH (fast, no Ansible round trips)."""
from pathlib import Path

import pytest
import testinfra
import yaml

ROOT = Path(__file__).resolve().parents[3]
SSH_CONFIG = "/var/lib/lbstack-lab/ssh_config"


def group(name):
    data = yaml.safe_load((ROOT / "inventories/lab/hosts.yml").read_text())
    hosts = data["all"]["children"][name]["hosts"]
    return {host: hv.get("lab_ip", hv["ansible_host"]) for host, hv in hosts.items()}


def connect(address):
    return testinfra.get_host("ssh://%s" % address, ssh_config=SSH_CONFIG)


@pytest.fixture(params=sorted(group("rabbitmq").items()), ids=lambda item: item[0])
def broker(request):
    return connect(request.param[1])


@pytest.fixture(params=sorted(group("load_balancers").items()), ids=lambda item: item[0])
def balancer(request):
    return connect(request.param[1])


@pytest.fixture
def balancers():
    return {name: connect(address) for name, address in sorted(group("load_balancers").items())}
