"""The role-variable rules the preflight runs, against the roles' argument specs and defaults."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

from pathlib import Path

import pytest
import yaml

from ansible_collections.lbstack.rabbitmq.plugins.module_utils import model, settings

ROLES = Path(__file__).resolve().parents[4] / "roles"
TABLES = {"load_balancer": settings.LOAD_BALANCER, "rabbitmq_cluster": settings.RABBITMQ_CLUSTER,
          "real_server": settings.REAL_SERVER, "feedback_agent": settings.FEEDBACK_AGENT,
          "firewall": settings.FIREWALL}


def role_file(role, *path):
    return yaml.safe_load((ROLES / role).joinpath(*path).read_text())


@pytest.mark.parametrize("role", sorted(TABLES))
def test_every_option_a_user_sets_has_a_rule_and_its_default_passes(role):
    options = role_file(role, "meta", "argument_specs.yml")["argument_specs"]["main"]["options"]
    table = TABLES[role]
    assert sorted(set(options) - set(settings.FROM_MODEL)) == sorted(table)
    defaults = role_file(role, "defaults", "main.yml")
    for name, rule in table.items():
        # (a default that is a template is templated by then; the preflight sees its value)
        if name in defaults and name not in settings.REQUIRED and "{{" not in str(defaults[name]):
            rule(name, defaults[name], "h")


def test_priority_defaults_are_the_load_balancer_roles():
    defaults = role_file("load_balancer", "defaults", "main.yml")
    for key, value in settings.PRIORITY_DEFAULTS.items():
        assert defaults["load_balancer_vrrp_priority_" + key] == value


@pytest.mark.parametrize("value,expected", [(True, True), ("yes", True), ("False", False), (0, False)])
def test_booleans_as_ansible_reads_them(value, expected):
    assert settings.as_bool("x", value) is expected


def test_a_secret_is_never_in_the_message():
    with pytest.raises(model.ModelError) as caught:
        settings.check_host("mq1", {"rabbitmq_cluster_erlang_cookie": "short-secret-value",
                                    "rabbitmq_cluster_admin_password": "long enough"},
                            [settings.RABBITMQ_CLUSTER])
    assert "short-secret-value" not in str(caught.value)
    assert caught.value.field == "rabbitmq_cluster_erlang_cookie"


def test_an_interface_is_checked_only_against_gathered_facts():
    values = {"load_balancer_vrrp_interface": "bond0"}
    settings.check_host("lb1", values, [settings.LOAD_BALANCER])
    settings.check_host("lb1", values, [settings.LOAD_BALANCER], ["lo", "bond0"])
    with pytest.raises(model.ModelError, match="host 'lb1' has no interface 'bond0'"):
        settings.check_host("lb1", values, [settings.LOAD_BALANCER], ["lo", "eth0"])


@pytest.mark.parametrize("version", ["", "4.0.5-6+deb13u2", "1:2.2.8-1", "3.0.11-1~bpo12+1"])
def test_debian_package_versions(version):
    settings.LOAD_BALANCER["load_balancer_haproxy_package_version"]("v", version, "h")


@pytest.mark.parametrize("value,ok", [(None, True), (-20, True), (19, True), ("-5", True), (-21, False), (20, False),
                                      ("high", False)])
def test_keepalived_nice_is_unset_or_a_nice_value(value, ok):
    rule = settings.LOAD_BALANCER["load_balancer_keepalived_nice"]
    if ok:
        rule("load_balancer_keepalived_nice", value, "lb1")
    else:
        with pytest.raises(model.ModelError, match="load_balancer_keepalived_nice"):
            rule("load_balancer_keepalived_nice", value, "lb1")
