"""The real_server module's choices without a load balancer: which services a
task touches, each real server's state before and after, the weight option,
and the errors that name the option (the engines' side is proven on the lab)."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.lbstack.rabbitmq.plugins.module_utils import admin, model
from ansible_collections.lbstack.rabbitmq.plugins.modules import real_server

INVENTORY = {"groups": {"rabbitmq": ["rabbit1", "rabbit2", "rabbit3"]},
             "addresses": dict(("rabbit%d" % i, {"ip": "198.18.0.2%d" % i}) for i in (1, 2, 3))}
L7, DR = model.normalize_services([
    {"label": "RabbitMQ_HA", "vip": "198.18.0.100", "mode": "l7_snat", "real_servers_group": "rabbitmq"},
    {"label": "RabbitMQ_DR", "vip": "198.18.0.101", "mode": "l4_dr",
     "real_servers": [{"label": "rabbit1", "ip": "198.18.0.21"}]},
], INVENTORY)


class Failed(Exception):
    pass


class FakeModule(object):
    def __init__(self, **params):
        self.params = dict(service=None, server=None, state=None, weight=None)
        self.params.update(params)

    def fail_json(self, msg, **_kw):
        raise Failed(msg)


@pytest.fixture
def services_dir(tmp_path):
    for svc in (L7, DR):
        admin.write_atomic(str(tmp_path / (svc["label"] + ".json")), admin.service_json(svc))
    return str(tmp_path)


def test_a_server_without_a_service_selects_every_service_that_has_it(services_dir):
    chosen = real_server.select_services(FakeModule(server="rabbit1", services_dir=services_dir))
    assert sorted(svc["label"] for svc in chosen) == ["RabbitMQ_DR", "RabbitMQ_HA"]
    chosen = real_server.select_services(FakeModule(server="rabbit2", services_dir=services_dir))
    assert [svc["label"] for svc in chosen] == ["RabbitMQ_HA"]


def test_unknown_service_or_server_fails_naming_the_option_and_what_exists(services_dir):
    with pytest.raises(Failed, match=r"^service: 'Nope' is not a virtual service .*RabbitMQ_DR, RabbitMQ_HA"):
        real_server.select_services(FakeModule(service="Nope", services_dir=services_dir))
    with pytest.raises(Failed, match=r"^server: 'rabbit9' is not a real server of any virtual service"):
        real_server.select_services(FakeModule(server="rabbit9", services_dir=services_dir))
    with pytest.raises(Failed, match=r"^server: 'rabbit2' is not a real server of RabbitMQ_DR .*rabbit1"):
        real_server.desired_states(FakeModule(server="rabbit2", state="drained"), DR, {})


def test_one_server_drained_keeps_its_operator_weight():
    current = {"rabbit2": {"state": "online", "weight": 40}}
    wanted = real_server.desired_states(FakeModule(server="rabbit2", state="drained"), L7, current)
    assert wanted == {"rabbit2": ({"state": "online", "weight": 40}, {"state": "drained", "weight": 40})}


def test_the_whole_service_without_a_server_vip_state():
    wanted = real_server.desired_states(FakeModule(state="halted"), L7, {})
    assert sorted(wanted) == ["rabbit1", "rabbit2", "rabbit3"]
    assert all(after == {"state": "halted", "weight": None} for _before, after in wanted.values())


def test_weight_set_and_back_to_default_keeps_the_state():
    current = {"rabbit1": {"state": "drained", "weight": None}}
    wanted = real_server.desired_states(FakeModule(server="rabbit1", weight=25), L7, current)
    assert wanted["rabbit1"][1] == {"state": "drained", "weight": 25}
    current = {"rabbit1": {"state": "online", "weight": 25}}
    wanted = real_server.desired_states(FakeModule(server="rabbit1", weight="default"), L7, current)
    assert wanted["rabbit1"][1] == {"state": "online", "weight": None}


@pytest.mark.parametrize("value, message", [
    ("heavy", r"^weight: 'heavy' is not a number or 'default'"),
    (257, r"^weight: 257 is not between 0 and 256 \(l7_snat\)"),
    (-1, r"^weight: -1 is not between 0 and 256"),
])
def test_bad_weights_name_the_option(value, message):
    with pytest.raises(Failed, match=message):
        real_server.parse_weight(FakeModule(), L7, value)


def test_direct_routing_weights_stop_lower():
    high = model.WEIGHT_MAX["l4_dr"]
    assert real_server.parse_weight(FakeModule(), DR, high) == ("set", high)
    with pytest.raises(Failed, match=r"not between 0 and %d \(l4_dr\)" % high):
        real_server.parse_weight(FakeModule(), DR, high + 1)
