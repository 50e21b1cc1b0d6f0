# -*- coding: utf-8 -*-
# Copyright: (c) 2026, lbstack.rabbitmq contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # The options of every module that changes an engine's configuration
    # (module_utils/engine.py ENGINE_ARGS).
    DOCUMENTATION = r"""
options:
  config_file:
    description:
      - The engine's main configuration file, used to validate the whole configuration.
      - Default C(/etc/haproxy/haproxy.cfg) or C(/etc/keepalived/keepalived.conf).
    type: path
  fragment_dir:
    description:
      - Directory of per-service fragments, loaded by the engine with O(config_file)
        (keepalived, an C(include) of C(*.conf) in this directory).
      - Default C(/etc/haproxy/services.d) or C(/etc/keepalived/services.d).
    type: path
  reload:
    description: Reload the engine gracefully when the configuration changed and the engine runs.
    type: bool
    default: true
  unit:
    description: The systemd unit of the engine. Default C(haproxy.service) or C(keepalived.service).
    type: str
  master_socket:
    description:
      - HAProxy's master CLI socket, used to confirm that a reload brought up a new worker
        (a failed reload otherwise goes unnoticed in master-worker mode).
    type: path
    default: /run/haproxy-master.sock
  amqp_checker:
    description:
      - keepalived only. The AMQP checker that C(MISC_CHECK) runs as C(CHECKER ADDRESS PORT)
        (the load_balancer role installs it). The module runs it too, to know which real
        servers must be in the IPVS table after a reload.
    type: path
    default: /usr/local/libexec/lbstack/amqp-check
  confirm_timeout:
    description: Seconds to wait for the confirmation that the new configuration is in force.
    type: int
    default: 30
  admin_dir:
    description:
      - Where an operator's admin state of each real server is kept (one file per server,
        C(SERVICE/SERVER), written by M(lbstack.rabbitmq.real_server)). HAProxy fragments are
        rendered with it, and a keepalived reload is confirmed against it.
    type: path
    default: /var/lib/lbstack/admin
  services_dir:
    description:
      - Where the normalized model of each virtual service this host serves is kept (C(LABEL.json)),
        for M(lbstack.rabbitmq.real_server) and M(lbstack.rabbitmq.lb_info).
    type: path
    default: /var/lib/lbstack/services
attributes:
  check_mode:
    support: full
    description: Reports what would change and validates the would-be configuration.
  diff_mode:
    support: full
    description: Shows the file before and after.
"""
