# -*- coding: utf-8 -*-
# Copyright: (c) 2026, lbstack.rabbitmq contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The brokers' TLS material, checked on the controller before any host changes.

A broker whose key does not belong to its certificate, or whose certificate
has expired, would start and refuse every TLS client (RabbitMQ logs the error
only when a client connects). The preflight refuses such an inventory. Uses
``cryptography``, which ansible-core itself requires on the controller. Messages
never show the key.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime

from ansible_collections.lbstack.rabbitmq.plugins.module_utils.model import ModelError

try:
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    HAS_CRYPTOGRAPHY = True
except ImportError:  # pragma: no cover - ansible-core depends on it
    HAS_CRYPTOGRAPHY = False


def _public(key):
    return key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def _not_after(cert):
    when = getattr(cert, "not_valid_after_utc", None)
    return when if when is not None else cert.not_valid_after.replace(tzinfo=datetime.timezone.utc)


def _not_before(cert):
    when = getattr(cert, "not_valid_before_utc", None)
    return when if when is not None else cert.not_valid_before.replace(tzinfo=datetime.timezone.utc)


def load_certificates(name, pem, host):
    try:
        return x509.load_pem_x509_certificates(pem.encode()) if hasattr(x509, "load_pem_x509_certificates") \
            else [x509.load_pem_x509_certificate(pem.encode())]
    except ValueError as exc:
        raise ModelError(name, "host %r: not a readable PEM certificate (%s)" % (host, exc))


def check_broker(host, certificate, private_key, ca_certificates=None, now=None):
    """Raise ModelError (naming the variable) unless the first certificate of
    ``certificate`` is valid now and ``private_key`` is its key. Returns the
    certificate's expiry as an ISO date."""
    if not HAS_CRYPTOGRAPHY:
        raise ModelError("rabbitmq_cluster_tls", "host %r: the controller's Python has no"
                         " cryptography module to check the certificate" % host)
    now = now or datetime.datetime.now(datetime.timezone.utc)
    cert = load_certificates("rabbitmq_cluster_tls_certificate", certificate, host)[0]
    if _not_after(cert) < now:
        raise ModelError("rabbitmq_cluster_tls_certificate", "host %r: the certificate expired on %s"
                         % (host, _not_after(cert).date().isoformat()))
    if _not_before(cert) > now:
        raise ModelError("rabbitmq_cluster_tls_certificate", "host %r: the certificate is valid only"
                         " from %s" % (host, _not_before(cert).isoformat()))
    try:
        key = serialization.load_pem_private_key(private_key.encode(), password=None)
    except (ValueError, TypeError):
        raise ModelError("rabbitmq_cluster_tls_private_key", "host %r: the key (not shown) is not a"
                         " readable unencrypted PEM private key" % host)
    if _public(key.public_key()) != _public(cert.public_key()):
        raise ModelError("rabbitmq_cluster_tls_private_key", "host %r: the key (not shown) does not"
                         " belong to rabbitmq_cluster_tls_certificate (subject %s)"
                         % (host, cert.subject.rfc4514_string()))
    if ca_certificates:
        load_certificates("rabbitmq_cluster_tls_ca_certificates", ca_certificates, host)
    return _not_after(cert).date().isoformat()
