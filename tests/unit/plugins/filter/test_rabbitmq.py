# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.lbstack.rabbitmq.plugins.filter.rabbitmq import (
    quorum_members_offline, rabbitmq_held_data, rabbitmq_upgrade_problem)

# What `rabbitmqctl export_definitions -` prints on a freshly installed node.
FRESH = {
    "rabbit_version": "3.10.8",
    "users": [{"name": "guest", "password_hash": "x", "tags": ["administrator"]}],
    "vhosts": [{"name": "/"}],
    "permissions": [{"user": "guest", "vhost": "/", "configure": ".*", "write": ".*", "read": ".*"}],
    "topic_permissions": [], "parameters": [], "global_parameters": [{"name": "cluster_name", "value": "r"}],
    "policies": [], "queues": [], "exchanges": [], "bindings": [],
}


def test_fresh_node_holds_nothing():
    assert rabbitmq_held_data(FRESH) == []


def test_fresh_node_without_guest_holds_nothing():
    assert rabbitmq_held_data(dict(FRESH, users=[], permissions=[])) == []


def test_node_with_data_names_what_it_holds():
    defs = dict(FRESH,
                users=FRESH["users"] + [{"name": "app"}],
                vhosts=[{"name": "/"}, {"name": "orders"}],
                queues=[{"name": "q1"}, {"name": "q2"}],
                exchanges=[{"name": "ex"}],
                policies=[{"name": "ha"}])
    assert rabbitmq_held_data(defs) == ["1 exchange", "1 policy", "2 queues", "user 'app'", "vhost 'orders'"]


def test_missing_keys_are_empty():
    assert rabbitmq_held_data({"users": [{"name": "guest"}]}) == []


def test_not_a_mapping_is_refused():
    with pytest.raises(ValueError, match="mapping"):
        rabbitmq_held_data(["queues"])


@pytest.mark.parametrize("current,target", [
    ("4.0.5-6+deb13u2", "4.0.5-6+deb13u2"),   # the lab: the same package again
    ("3.10.8-1.1", "3.10.20-1"),
    ("3.12.14-1", "3.13.7-1"),
    ("3.13.7-1", "4.0.5-6+deb13u2"),
    ("4.0.5-1", "4.1.0-1"),
    ("1:3.13.2-1", "4.0.9"),
])
def test_supported_upgrades(current, target):
    assert rabbitmq_upgrade_problem(current, target) == ""


@pytest.mark.parametrize("current,target,words", [
    ("3.10.8-1.1", "4.0.5-6+deb13u2", "3.13 to 4.0 only"),
    ("3.13.7-1", "4.1.0-1", "3.13 to 4.0 only"),
    ("3.10.8-1.1", "3.12.1-1", "3.10 -> 3.11 first"),
    ("4.0.5-1", "3.13.7-1", "downgrade"),
    ("4.0.5-1", "4.0.4-1", "downgrade"),
])
def test_refused_upgrades_say_why(current, target, words):
    assert words in rabbitmq_upgrade_problem(current, target)


def test_upgrade_problem_refuses_what_is_not_a_version():
    with pytest.raises(ValueError, match="target version 'latest'"):
        rabbitmq_upgrade_problem("4.0.5", "latest")


def test_quorum_members_offline():
    assert quorum_members_offline({"name": "q", "members": ["a", "b"], "online": ["b", "a"]}) == ""
    assert quorum_members_offline({"name": "q", "members": ["a", "b", "c"], "online": ["b"]}) == \
        "q (offline: a, c)"
