#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, lbstack.rabbitmq contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: firewalld_direct
short_description: Keep the permanent firewalld direct rules that one owner tag claims
version_added: 0.1.0
description:
  - Makes the firewalld direct rules whose C(--comment) is O(owner) or starts with
    C(O(owner):) exactly O(rules), in the permanent configuration and in the running firewall,
    so that the rules are in force now and after a reboot (method 4 of the guide's
    "Solving the ARP problem").
  - The running firewall is edited rule by rule, new rules first, then stale ones removed; it is
    never reloaded, so a rule that stays is in force all along and runtime changes that others
    made are kept.
  - Direct rules of any other owner are left alone.
  - firewalld must be installed and running to add rules; with no O(rules) and no firewalld
    there is nothing to do. With firewalld stopped, claimed rules are still removed from the
    permanent configuration (C(firewall-offline-cmd)).
author:
  - lbstack.rabbitmq contributors (@lbstack)
options:
  owner:
    description: The comment tag (C(-m comment --comment OWNER[:anything])) that marks the rules this task owns.
    type: str
    required: true
  rules:
    description: The rules to keep; each must carry the O(owner) comment. An empty list removes every claimed rule.
    type: list
    elements: dict
    default: []
    suboptions:
      ipv:
        description: Address family.
        type: str
        choices: [ipv4, ipv6, eb]
        required: true
      table:
        description: The table, for example C(nat).
        type: str
        required: true
      chain:
        description: The chain, for example C(PREROUTING).
        type: str
        required: true
      priority:
        description: Order within the chain (lower first).
        type: int
        default: 0
      args:
        description: The iptables arguments of the rule, as one string.
        type: str
        required: true
notes:
  - The guide's own procedure ends with C(firewall-cmd --reload); this module does not reload, because a
    reload rebuilds the whole firewall (a moment without the rules) and drops others' runtime changes.
extends_documentation_fragment: []
attributes:
  check_mode:
    support: full
    description: Reports what would be added, removed or reloaded.
  diff_mode:
    support: full
    description: The claimed permanent rules before and after.
"""

EXAMPLES = r"""
- name: Redirect VIP traffic to the real server itself (guide, method 4)
  lbstack.rabbitmq.firewalld_direct:
    owner: lbstack-real-server
    rules:
      - ipv: ipv4
        table: nat
        chain: PREROUTING
        args: -d 198.18.0.100 -m comment --comment lbstack-real-server:RabbitMQ_DR -j REDIRECT
"""

RETURN = r"""
added:
  description: Permanent rules added, as firewall-cmd prints them.
  returned: always
  type: list
  elements: str
  sample: ["ipv4 nat PREROUTING 0 -d 198.18.0.100 -m comment --comment lbstack-real-server:RabbitMQ_DR -j REDIRECT"]
removed:
  description: Permanent rules removed.
  returned: always
  type: list
  elements: str
runtime_added:
  description: Rules added to the running firewall (they were missing there).
  returned: always
  type: list
  elements: str
runtime_removed:
  description: Claimed rules removed from the running firewall.
  returned: always
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.lbstack.rabbitmq.plugins.module_utils import firewalld


def run(module, argv):
    rc, out, err = module.run_command(argv)
    if rc != 0:
        module.fail_json(msg="%s failed (rc %d): %s" % (" ".join(argv), rc, (err or out).strip()))
    return out


def main():
    module = AnsibleModule(
        argument_spec=dict(
            owner=dict(type="str", required=True),
            rules=dict(type="list", elements="dict", default=[], options=dict(
                ipv=dict(type="str", required=True, choices=list(firewalld.IPVS)),
                table=dict(type="str", required=True),
                chain=dict(type="str", required=True),
                priority=dict(type="int", default=0),
                args=dict(type="str", required=True),
            )),
        ),
        supports_check_mode=True,
    )
    owner = module.params["owner"]
    if not owner or any(c.isspace() for c in owner):
        module.fail_json(msg="owner: %r must be one word" % (owner,))
    desired = []
    for i, raw in enumerate(module.params["rules"]):
        try:
            rule = firewalld.make_rule(raw["ipv"], raw["table"], raw["chain"], raw["priority"], raw["args"])
        except firewalld.RuleError as exc:
            module.fail_json(msg="rules[%d]: %s" % (i, exc))
        if not firewalld.owned_by([rule], owner):
            module.fail_json(msg="rules[%d].args: %r must carry -m comment --comment %s[:...]"
                             % (i, raw["args"], owner))
        desired.append(rule)

    cmd = module.get_bin_path("firewall-cmd")
    if cmd is None:
        if desired:
            module.fail_json(msg="firewall-cmd not found: firewalld must be installed and running to keep these rules")
        module.exit_json(changed=False, added=[], removed=[], runtime_added=[], runtime_removed=[],
                         msg="firewalld is not installed")

    running = module.run_command([cmd, "--state"])[0] == 0
    if running:
        permanent = firewalld.parse_rules(run(module, [cmd, "--permanent", "--direct", "--get-all-rules"]))
        runtime = firewalld.parse_rules(run(module, [cmd, "--direct", "--get-all-rules"]))
        edit = [cmd, "--permanent", "--direct"]
    else:
        if desired:
            module.fail_json(msg="firewalld is not running: start it (systemctl start firewalld) to keep these rules")
        offline = module.get_bin_path("firewall-offline-cmd", required=True)
        permanent = firewalld.parse_rules(run(module, [offline, "--direct", "--get-all-rules"]))
        runtime = []
        edit = [offline, "--direct"]

    todo = firewalld.plan(desired, permanent, runtime, owner)
    to_add, to_remove = todo["permanent"]
    rt_add, rt_remove = todo["runtime"] if running else ([], [])
    if not module.check_mode:
        for rule in to_remove:
            run(module, edit + ["--remove-rule"] + firewalld.rule_argv(rule))
        for rule in to_add:
            run(module, edit + ["--add-rule"] + firewalld.rule_argv(rule))
        # The running firewall: new rules first, then the stale ones.
        for rule in rt_add:
            run(module, [cmd, "--direct", "--add-rule"] + firewalld.rule_argv(rule))
        for rule in rt_remove:
            run(module, [cmd, "--direct", "--remove-rule"] + firewalld.rule_argv(rule))

    before = sorted(firewalld.owned_by(permanent, owner))
    result = dict(
        changed=bool(to_add or to_remove or rt_add or rt_remove),
        added=[firewalld.rule_line(r) for r in to_add],
        removed=[firewalld.rule_line(r) for r in to_remove],
        runtime_added=[firewalld.rule_line(r) for r in rt_add],
        runtime_removed=[firewalld.rule_line(r) for r in rt_remove],
    )
    if module._diff:
        result["diff"] = dict(
            before="".join(firewalld.rule_line(r) + "\n" for r in before),
            after="".join(firewalld.rule_line(r) + "\n" for r in sorted(set(desired))),
            before_header="firewalld permanent direct rules (%s)" % owner,
            after_header="firewalld permanent direct rules (%s)" % owner,
        )
    module.exit_json(**result)


if __name__ == "__main__":
    main()
