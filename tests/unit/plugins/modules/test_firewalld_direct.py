"""main() of firewalld_direct on a fake firewalld: the permanent and the running
rule sets, edited by the module's firewall-cmd calls."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

import pytest
from ansible.module_utils import basic
from ansible.module_utils.testing import patch_module_args

from ansible_collections.lbstack.rabbitmq.plugins.module_utils import firewalld
from ansible_collections.lbstack.rabbitmq.plugins.modules import firewalld_direct

OWNER = "lbstack-real-server"
OLD = "ipv4 nat PREROUTING 0 -d 198.18.0.100 -m comment --comment lbstack-real-server:DR -j REDIRECT"
NEW = "ipv4 nat PREROUTING 0 -d 198.18.0.101 -m comment --comment lbstack-real-server:Extra -j REDIRECT"
THEIRS = "ipv4 filter INPUT 5 -p tcp --dport 22 -j ACCEPT"


def rule(line):
    ipv, table, chain, priority, args = line.split(" ", 4)
    return {"ipv": ipv, "table": table, "chain": chain, "priority": int(priority), "args": args}


class FakeFirewalld(object):
    def __init__(self, permanent, runtime):
        self.sets = {"permanent": list(permanent), "runtime": list(runtime)}
        self.calls = []

    def run_command(self, argv, *args, **kwargs):
        argv = list(argv)
        self.calls.append(argv[1:])
        if argv[1:] == ["--state"]:
            return 0, "running", ""
        which = "permanent" if "--permanent" in argv else "runtime"
        words = [w for w in argv[1:] if w not in ("--permanent", "--direct")]
        if words == ["--get-all-rules"]:
            return 0, "\n".join(self.sets[which]) + "\n", ""
        line = " ".join(words[1:])
        if words[0] == "--add-rule":
            self.sets[which].append(line)
        elif words[0] == "--remove-rule":
            self.sets[which].remove(line)
        return 0, "", ""


@pytest.fixture
def firewall(monkeypatch):
    def make(permanent, runtime):
        fake = FakeFirewalld(permanent, runtime)
        monkeypatch.setattr(basic.AnsibleModule, "run_command", lambda self, argv, *a, **k: fake.run_command(argv))
        monkeypatch.setattr(basic.AnsibleModule, "get_bin_path", lambda self, name, *a, **k: "/usr/bin/" + name)
        return fake
    return make


def run(args, capsys):
    with patch_module_args(args):
        with pytest.raises(SystemExit):
            firewalld_direct.main()
    return json.loads(capsys.readouterr().out)


def edits(fake):
    return [c for c in fake.calls if "--add-rule" in c or "--remove-rule" in c or "--reload" in c]


def test_a_changed_vip_is_added_before_the_stale_rule_goes_and_nothing_is_reloaded(firewall, capsys):
    fake = firewall([OLD, THEIRS], [OLD, THEIRS])
    result = run({"owner": OWNER, "rules": [rule(NEW)]}, capsys)
    assert result["changed"] and result["added"] == [NEW] and result["removed"] == [OLD]
    assert result["runtime_added"] == [NEW] and result["runtime_removed"] == [OLD]
    runtime = [c for c in edits(fake) if "--permanent" not in c]
    assert runtime == [["--direct", "--add-rule"] + NEW.split(" "), ["--direct", "--remove-rule"] + OLD.split(" ")]
    assert not any("--reload" in c for c in fake.calls)
    assert sorted(fake.sets["runtime"]) == sorted([NEW, THEIRS]) == sorted(fake.sets["permanent"])
    # converged: nothing to do
    fake.calls[:] = []
    again = run({"owner": OWNER, "rules": [rule(NEW)]}, capsys)
    assert not again["changed"] and edits(fake) == []


def test_a_rule_lost_at_runtime_is_put_back_without_touching_the_permanent_set(firewall, capsys):
    fake = firewall([OLD], [THEIRS])
    result = run({"owner": OWNER, "rules": [rule(OLD)]}, capsys)
    assert result["changed"] and result["added"] == [] and result["runtime_added"] == [OLD]
    assert all("--permanent" not in c for c in edits(fake))
    assert THEIRS in fake.sets["runtime"]


def test_check_mode_reports_and_edits_nothing(firewall, capsys):
    fake = firewall([OLD], [OLD])
    result = run({"owner": OWNER, "rules": [rule(NEW)], "_ansible_check_mode": True, "_ansible_diff": True}, capsys)
    assert result["changed"] and edits(fake) == []
    assert result["diff"]["before"] == OLD + "\n" and result["diff"]["after"] == NEW + "\n"


def test_a_rule_without_the_owner_tag_is_refused(firewall, capsys):
    firewall([], [])
    result = run({"owner": OWNER, "rules": [rule(THEIRS)]}, capsys)
    assert result["failed"] and "rules[0].args" in result["msg"]


def test_rules_are_compared_as_firewalld_prints_them():
    assert firewalld.rule_line(firewalld.parse_rules(NEW)[0]) == NEW
