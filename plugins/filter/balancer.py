# -*- coding: utf-8 -*-
# Copyright: (c) 2026, lbstack.rabbitmq contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters that read what lbstack.rabbitmq.lb_info returns for a load balancer."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


def _admin_line(rs):
    weight = rs.get("weight_override")
    return rs.get("admin_state", "online") + ("" if weight is None else " %d" % weight)


def balancer_admin_states(info):
    """``{service: {server: "STATE [WEIGHT]"}}`` from one balancer's ``lb_info``
    result: what an operator set, which both members of a pair must agree on."""
    return dict((svc["label"], dict((rs["label"], _admin_line(rs)) for rs in svc.get("real_servers", [])))
                for svc in info.get("services", []))


def balancer_problems(info, expected=None):
    """Why a balancer does not serve as it should, as a list of sentences (empty:
    healthy). ``info`` is its ``lb_info`` result; ``expected`` (optional) is
    ``balancer_admin_states`` of the reference member: every service in it must
    be served here, with the same admin states.

    A service must be OPEN, and when any of its real servers is online, at
    least one of those must be up."""
    if not isinstance(info, dict) or info.get("failed") or info.get("unreachable"):
        return ["lb_info failed: %s" % (info or {}).get("msg", "no result")]
    problems = []
    services = dict((svc["label"], svc) for svc in info.get("services", []))
    for label in sorted(services):
        svc = services[label]
        if svc.get("status") != "OPEN":
            problems.append("service %s is %s" % (label, svc.get("status")))
        online = [rs for rs in svc.get("real_servers", []) if rs.get("admin_state", "online") == "online"]
        if online and not [rs for rs in online if str(rs.get("health", "")).startswith("UP")]:
            problems.append("service %s has no online real server up" % label)
    if expected:
        states = balancer_admin_states(info)
        for label in sorted(expected):
            if label not in states:
                problems.append("service %s is not served" % label)
                continue
            for server in sorted(expected[label]):
                got = states[label].get(server)
                if got != expected[label][server]:
                    problems.append("%s/%s is %s, expected %s" % (label, server, got, expected[label][server]))
    return problems


class FilterModule(object):
    def filters(self):
        return {"balancer_admin_states": balancer_admin_states,
                "balancer_problems": balancer_problems}
