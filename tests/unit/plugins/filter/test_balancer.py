from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import json
import os

from ansible_collections.lbstack.rabbitmq.plugins.filter.balancer import (
    FilterModule, balancer_admin_states, balancer_problems)

HERE = os.path.dirname(__file__)


def fixture(name):
    with open(os.path.join(HERE, "fixtures", name)) as fh:
        return json.load(fh)


# lb_info on the Direct Routing lab's lb1 just after rabbit2 was drained
# (its IPv6 entry not yet back at weight 0, hence "partly in IPVS").
DR = fixture("lb_info-l4_dr-drained.json")


def test_admin_states_from_a_real_result():
    assert balancer_admin_states(DR) == {
        "RabbitMQ_DR": {"rabbit1": "online", "rabbit2": "drained", "rabbit3": "online"}}


def test_an_operator_weight_is_part_of_the_state():
    info = copy.deepcopy(DR)
    info["services"][0]["real_servers"][0]["weight_override"] = 40
    assert balancer_admin_states(info)["RabbitMQ_DR"]["rabbit1"] == "online 40"


def test_a_drained_server_down_is_not_a_problem():
    assert balancer_problems(DR) == []
    assert balancer_problems(DR, balancer_admin_states(DR)) == []


def test_admin_states_must_match_the_reference():
    expected = balancer_admin_states(DR)
    expected["RabbitMQ_DR"]["rabbit2"] = "online"
    assert balancer_problems(DR, expected) == ["RabbitMQ_DR/rabbit2 is drained, expected online"]


def test_a_service_the_reference_serves_must_be_served():
    expected = {"Other": {"a": "online"}}
    assert balancer_problems(DR, expected) == ["service Other is not served"]


def test_no_online_server_up_and_a_service_not_open():
    info = copy.deepcopy(DR)
    for rs in info["services"][0]["real_servers"]:
        rs["health"] = "DOWN"
    info["services"][0]["status"] = "DOWN"
    assert balancer_problems(info) == ["service RabbitMQ_DR is DOWN",
                                       "service RabbitMQ_DR has no online real server up"]


def test_every_server_drained_by_an_operator_is_not_a_balancer_problem():
    info = copy.deepcopy(DR)
    for rs in info["services"][0]["real_servers"]:
        rs["admin_state"], rs["health"] = "drained", "DRAIN"
    assert balancer_problems(info) == []


def test_a_failed_read_is_a_problem():
    assert balancer_problems({"failed": True, "msg": "boom"}) == ["lb_info failed: boom"]
    assert balancer_problems(None) == ["lb_info failed: no result"]


def test_registered_as_filters():
    filters = FilterModule().filters()
    assert filters["balancer_problems"] is balancer_problems
    assert filters["balancer_admin_states"] is balancer_admin_states
