# -*- coding: utf-8 -*-
# Copyright: (c) 2026, lbstack.rabbitmq contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""firewalld direct rules: what `firewall-cmd --direct --get-all-rules` prints,
which of those rules an owner tag claims, and the argv to add or remove one.

A rule is a tuple ``(ipv, table, chain, priority, args)`` with ``args`` the
iptables arguments joined by single spaces, so that rules compare as values.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import shlex

IPVS = ("ipv4", "ipv6", "eb")


class RuleError(ValueError):
    pass


def make_rule(ipv, table, chain, priority, args):
    """A rule from its parts; ``args`` is a string or a list of arguments."""
    if ipv not in IPVS:
        raise RuleError("ipv %r must be one of %s" % (ipv, ", ".join(IPVS)))
    for name, value in (("table", table), ("chain", chain)):
        if not isinstance(value, str) or not value or any(c.isspace() for c in value):
            raise RuleError("%s %r must be one word" % (name, value))
    try:
        priority = int(priority)
    except (TypeError, ValueError):
        raise RuleError("priority %r must be an integer" % (priority,))
    words = shlex.split(args) if isinstance(args, str) else [str(a) for a in args]
    if not words:
        raise RuleError("args must not be empty")
    return (ipv, table, chain, priority, " ".join(words))


def parse_rules(text):
    """Rules from the output of ``firewall-cmd [--permanent] --direct --get-all-rules``."""
    rules = []
    for line in text.splitlines():
        if not line.strip():
            continue
        words = shlex.split(line)
        if len(words) < 5:
            raise RuleError("cannot read the direct rule %r" % line)
        rules.append(make_rule(words[0], words[1], words[2], words[3], words[4:]))
    return rules


def owned_by(rules, owner):
    """The rules whose comment is ``owner`` or starts with ``owner:``."""
    out = []
    for rule in rules:
        words = rule[4].split(" ")
        for i, word in enumerate(words[:-1]):
            if word == "--comment" and (words[i + 1] == owner or words[i + 1].startswith(owner + ":")):
                out.append(rule)
                break
    return out


def rule_argv(rule):
    """The words after --add-rule/--remove-rule for one rule."""
    ipv, table, chain, priority, args = rule
    return [ipv, table, chain, str(priority)] + args.split(" ")


def rule_line(rule):
    """A rule as firewall-cmd prints it (for diffs)."""
    return " ".join(rule_argv(rule))


def plan(desired, permanent, runtime, owner):
    """What to do so that the owner's permanent and runtime rules are ``desired``.

    Returns ``{"permanent": (to_add, to_remove), "runtime": (to_add, to_remove)}``.
    The runtime set is edited rule by rule (new rules added before stale ones are
    removed), never by a reload, so a rule that stays is in force all along.
    """
    want = sorted(set(desired))
    out = {}
    for name, rules in (("permanent", permanent), ("runtime", runtime)):
        have = sorted(set(owned_by(rules, owner)))
        out[name] = ([r for r in want if r not in have], [r for r in have if r not in want])
    return out
