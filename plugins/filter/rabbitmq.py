# -*- coding: utf-8 -*-
# Copyright: (c) 2026, lbstack.rabbitmq contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters for the rabbitmq_cluster role and the day-2 playbooks."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

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


def quorum_members_offline(queue):
    """``"orders (offline: rabbit@rabbit2)"`` for a quorum queue from ``list_queues
    name type members online`` (JSON) whose members are not all online, else ``""``."""
    offline = sorted(set(queue.get("members") or []) - set(queue.get("online") or []))
    return "%s (offline: %s)" % (queue.get("name"), ", ".join(offline)) if offline else ""


_VERSION_RE = re.compile(r"^(?:\d+:)?(\d+)\.(\d+)(?:\.(\d+))?")


def _upstream(version, what):
    match = _VERSION_RE.match(str(version).strip())
    if not match:
        raise ValueError("rabbitmq_upgrade_problem: %s version %r is not a RabbitMQ version" % (what, version))
    return tuple(int(part or 0) for part in match.groups())


def rabbitmq_upgrade_problem(current, target):
    """Why RabbitMQ cannot go from ``current`` to ``target`` one node at a time
    (package versions such as ``3.10.8-1.1`` or ``4.0.5-6+deb13u2``), or ``""``.

    A rolling upgrade keeps the cluster running with both versions at once, which
    RabbitMQ supports from one minor series to the next (3.12 -> 3.13, 4.0 ->
    4.1), from 3.13 to 4.0, and within a series; never downwards.
    """
    old, new = _upstream(current, "installed"), _upstream(target, "target")
    step = "%d.%d -> %d.%d" % (old[0], old[1], new[0], new[1])
    if new < old:
        return "%s is a downgrade (%s); RabbitMQ nodes cannot go back to an older version" % (target, step)
    if new[:2] == old[:2]:
        return ""
    if new[0] == old[0] and new[1] == old[1] + 1:
        return ""
    if old[:2] == (3, 13) and new[:2] == (4, 0):
        return ""
    if new[0] > old[0]:
        return ("%s: RabbitMQ 4 is reached from 3.13 to 4.0 only; upgrade through each series on the way"
                % step)
    return ("%s skips a series: a rolling upgrade goes one minor series at a time (%d.%d -> %d.%d first)"
            % (step, old[0], old[1], old[0], old[1] + 1))


class FilterModule(object):
    def filters(self):
        return {"rabbitmq_held_data": rabbitmq_held_data,
                "quorum_members_offline": quorum_members_offline,
                "rabbitmq_upgrade_problem": rabbitmq_upgrade_problem}
