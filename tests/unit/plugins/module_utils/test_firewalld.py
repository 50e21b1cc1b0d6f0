from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.lbstack.rabbitmq.plugins.module_utils import firewalld

OURS4 = "ipv4 nat PREROUTING 0 -d 198.18.0.100 -m comment --comment lbstack-real-server:DR -j REDIRECT"
OURS6 = "ipv6 nat PREROUTING 0 -d 2001:db8:18::100 -m comment --comment lbstack-real-server:DR -j REDIRECT"
THEIRS = "ipv4 filter INPUT 5 -p tcp --dport 22 -m comment --comment 'admin ssh' -j ACCEPT"
LOOKALIKE = "ipv4 nat PREROUTING 0 -d 198.18.0.9 -m comment --comment lbstack-real-server-other -j REDIRECT"


def test_parse_reads_every_field_and_quoted_arguments():
    rules = firewalld.parse_rules("\n".join([OURS4, THEIRS, ""]))
    assert rules[0] == ("ipv4", "nat", "PREROUTING", 0,
                        "-d 198.18.0.100 -m comment --comment lbstack-real-server:DR -j REDIRECT")
    assert rules[1][3] == 5
    assert rules[1][4] == "-p tcp --dport 22 -m comment --comment admin ssh -j ACCEPT"


def test_parse_refuses_a_line_it_cannot_read():
    with pytest.raises(firewalld.RuleError):
        firewalld.parse_rules("ipv4 nat PREROUTING 0")
    with pytest.raises(firewalld.RuleError, match="priority"):
        firewalld.parse_rules("ipv4 nat PREROUTING first -j ACCEPT")


def test_owned_by_matches_the_tag_exactly_or_with_a_label():
    rules = firewalld.parse_rules("\n".join([OURS4, THEIRS, LOOKALIKE]))
    assert firewalld.owned_by(rules, "lbstack-real-server") == rules[:1]


def test_plan_edits_permanent_and_runtime_rules_only_where_they_differ():
    ours4, ours6 = firewalld.parse_rules(OURS4 + "\n" + OURS6)
    others = firewalld.parse_rules(THEIRS)
    owner = "lbstack-real-server"
    # converged: nothing to do, other owners' rules ignored
    assert firewalld.plan([ours4], [ours4] + others, [ours4] + others, owner) == {
        "permanent": ([], []), "runtime": ([], [])}
    # a new VIP and a stale one, in both sets
    assert firewalld.plan([ours6], [ours4], [ours4], owner) == {
        "permanent": ([ours6], [ours4]), "runtime": ([ours6], [ours4])}
    # permanent right, runtime lost (someone flushed the firewall): only the runtime rule is added
    assert firewalld.plan([ours4], [ours4], [], owner) == {"permanent": ([], []), "runtime": ([ours4], [])}
    # removal of everything claimed; other owners' runtime rules stay
    assert firewalld.plan([], [ours4, ours6] + others, [ours4] + others, owner) == {
        "permanent": ([], [ours4, ours6]), "runtime": ([], [ours4])}


def test_rule_argv_round_trips_through_the_printed_form():
    rule = firewalld.parse_rules(OURS6)[0]
    assert firewalld.rule_line(rule) == OURS6
    assert firewalld.rule_argv(rule)[:4] == ["ipv6", "nat", "PREROUTING", "0"]


def test_make_rule_checks_its_parts():
    with pytest.raises(firewalld.RuleError, match="ipv"):
        firewalld.make_rule("ipv5", "nat", "PREROUTING", 0, "-j ACCEPT")
    with pytest.raises(firewalld.RuleError, match="chain"):
        firewalld.make_rule("ipv4", "nat", "PRE ROUTING", 0, "-j ACCEPT")
    with pytest.raises(firewalld.RuleError, match="args"):
        firewalld.make_rule("ipv4", "nat", "PREROUTING", 0, "")
