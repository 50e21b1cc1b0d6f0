"""The brokers' TLS material checks (plugin_utils/tls.py), with throwaway certificates."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest
from certs import issue, other_key

from ansible_collections.lbstack.rabbitmq.plugins.module_utils.model import ModelError
from ansible_collections.lbstack.rabbitmq.plugins.plugin_utils import tls


def test_a_certificate_with_its_key_passes_and_gives_its_expiry():
    ca, cert, key = issue(days=30)
    assert tls.check_broker("mq-1", cert, key, ca) >= "2026-01-01"


def test_a_chain_is_checked_by_its_first_certificate():
    ca, cert, key = issue()
    assert tls.check_broker("mq-1", cert + ca, key)


def test_a_key_of_another_certificate_is_refused_without_showing_it():
    _ca, cert, _key = issue()
    wrong = other_key()
    with pytest.raises(ModelError) as caught:
        tls.check_broker("mq-1", cert, wrong)
    assert caught.value.field == "rabbitmq_cluster_tls_private_key"
    assert "does not belong to rabbitmq_cluster_tls_certificate (subject CN=mq.example.test)" in str(caught.value)
    assert wrong.splitlines()[1] not in str(caught.value)


@pytest.mark.parametrize("days, start, words", [(-1, -10, "expired on"), (30, 2, "valid only from")])
def test_a_certificate_outside_its_validity_is_refused(days, start, words):
    _ca, cert, key = issue(days=days, start_days=start)
    with pytest.raises(ModelError) as caught:
        tls.check_broker("mq-1", cert, key)
    assert caught.value.field == "rabbitmq_cluster_tls_certificate"
    assert words in str(caught.value)


def test_unreadable_material_names_its_variable():
    _ca, cert, key = issue()
    broken = "-----BEGIN CERTIFICATE-----\nTUlJ\n-----END CERTIFICATE-----\n"
    with pytest.raises(ModelError) as caught:
        tls.check_broker("mq-1", broken, key)
    assert caught.value.field == "rabbitmq_cluster_tls_certificate"
    with pytest.raises(ModelError) as caught:
        tls.check_broker("mq-1", cert, key.replace("A", "B", 5))
    assert caught.value.field == "rabbitmq_cluster_tls_private_key"
    with pytest.raises(ModelError) as caught:
        tls.check_broker("mq-1", cert, key, broken)
    assert caught.value.field == "rabbitmq_cluster_tls_ca_certificates"
