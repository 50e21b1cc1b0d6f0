# -*- coding: utf-8 -*-
# Copyright: (c) 2026, lbstack.rabbitmq contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The PowerShell modules' argument specs agree with their documentation stubs.

ansible-test's validate-modules compares them with pwsh, which does not run
here (the .ps1 files are skipped in tests/sanity/ignore-*.txt): this reads the
simple one-line option specs of each .ps1 instead, and checks every step the
plan can produce has a branch in the apply module."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ast
import re
from pathlib import Path

import pytest
import yaml

from ansible_collections.lbstack.rabbitmq.plugins.module_utils import windows

MODULES = Path(__file__).resolve().parents[4] / "plugins" / "modules"
NAMES = ["win_dr_real_server_info", "win_dr_real_server"]
OPTION_RE = re.compile(r"^\s+(\w+) = @\{ (.*) \}\s*$")
FIELD_RE = re.compile(r"(\w+) = ('[^']*'|\$true|\$false)")


def ps_options(name):
    text = (MODULES / (name + ".ps1")).read_text()
    block = text.split("options = @{", 1)[1].split("\n    }", 1)[0]
    options = {}
    for line in block.splitlines():
        match = OPTION_RE.match(line)
        if match:
            fields = dict((k, v.strip("'")) for k, v in FIELD_RE.findall(match.group(2)))
            options[match.group(1)] = fields
    return options, "supports_check_mode = $true" in text


def documented(name):
    tree = ast.parse((MODULES / (name + ".py")).read_text())
    values = dict((node.targets[0].id, node.value.value) for node in tree.body
                  if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant))
    return yaml.safe_load(values["DOCUMENTATION"])


@pytest.mark.parametrize("name", NAMES)
def test_the_ps1_spec_matches_the_documentation(name):
    options, check_mode = ps_options(name)
    docs = documented(name)
    assert sorted(options) == sorted(docs["options"])
    for option, spec in options.items():
        doc = docs["options"][option]
        assert spec["type"] == doc["type"], option
        assert spec.get("default") == doc.get("default"), option
        assert (spec.get("required") == "$true") == bool(doc.get("required")), option
    assert check_mode and docs["attributes"]["check_mode"]["support"] == "full"


def test_every_planned_action_has_a_branch_in_the_apply_module():
    text = (MODULES / "win_dr_real_server.ps1").read_text()
    branches = set(re.findall(r"^\s+'(\w+)' \{", text, re.M))
    fresh = {"loopback": {"present": False}, "addresses": [], "interfaces": {}, "firewall": None}
    planned = set()
    vips = {"ipv4": ["198.18.0.100"], "ipv6": ["2001:db8:18::100"]}
    for result in (windows.plan(fresh, vips, "net", ports=[5672]),
                   windows.plan(dict(fresh, loopback={"present": True, "ours": True, "bindings": {"ms_tcpip6": True}},
                                     addresses=[{"family": "ipv4", "address": "198.18.0.9"}],
                                     firewall={"addresses": [], "ports": []}),
                                {"ipv4": ["198.18.0.100"]}, "net", ports=[5672]),
                   windows.plan(dict(fresh, loopback={"present": True, "ours": True},
                                     interfaces={"ipv4": {"net": {"weakhostreceive": "enabled"}}},
                                     firewall={"addresses": [], "ports": []}), vips, "net", state="absent")):
        planned.update(step["action"] for step in result["steps"])
    assert planned <= branches, planned - branches
    assert planned >= {"install_loopback", "remove_loopback", "set_binding", "disable_other_bindings", "add_address",
                       "delete_address", "set_interface", "add_firewall_rule", "set_firewall_rule",
                       "remove_firewall_rule"}
