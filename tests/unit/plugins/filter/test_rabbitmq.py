# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.lbstack.rabbitmq.plugins.filter.rabbitmq import rabbitmq_held_data

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
