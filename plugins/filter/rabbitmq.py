# -*- coding: utf-8 -*-
# Copyright: (c) 2026, lbstack.rabbitmq contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters for the rabbitmq_cluster role."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

# What a freshly installed broker holds: the default vhost and the guest user.
_FRESH_VHOSTS = frozenset(["/"])
_FRESH_USERS = frozenset(["guest"])


def rabbitmq_held_data(definitions):
    """What a broker holds beyond a fresh installation, from ``export_definitions``.

    ``definitions`` is the parsed JSON of ``rabbitmqctl export_definitions -``.
    Returns a sorted list of short descriptions (empty for a fresh node), for
    example ``["2 queues", "user 'app'", "vhost 'orders'"]``. A node that holds
    any of it must never be reset to join a cluster.
    """
    if not isinstance(definitions, dict):
        raise ValueError("rabbitmq_held_data: expected the definitions as a mapping")
    held = []
    for vhost in definitions.get("vhosts") or []:
        if vhost.get("name") not in _FRESH_VHOSTS:
            held.append("vhost '%s'" % vhost.get("name"))
    for user in definitions.get("users") or []:
        if user.get("name") not in _FRESH_USERS:
            held.append("user '%s'" % user.get("name"))
    for key, one in (("queues", "queue"), ("exchanges", "exchange"), ("bindings", "binding"),
                     ("policies", "policy"), ("parameters", "parameter")):
        count = len(definitions.get(key) or [])
        if count:
            held.append("%d %s" % (count, key if count > 1 else one))
    return sorted(held)


class FilterModule(object):
    def filters(self):
        return {"rabbitmq_held_data": rabbitmq_held_data}
