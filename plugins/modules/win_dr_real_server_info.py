#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, lbstack.rabbitmq contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

# The module is PowerShell (win_dr_real_server_info.ps1); this file documents it.

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: win_dr_real_server_info
short_description: Read what a Windows real server has for Direct Routing
version_added: 0.1.0
description:
  - Read-only. Reports the loopback adapter (whether it exists and is a Microsoft KM-TEST
    Loopback Adapter), its addresses and protocol bindings, the weak-host and DAD settings of
    the loopback and client-facing adapters for IPv4 and IPv6, and the collection's firewall rule.
  - Its output is the input of the C(lbstack.rabbitmq.windows_real_server_plan) filter, which
    decides the steps; M(lbstack.rabbitmq.win_dr_real_server) carries them out.
  - Not yet run on a live Windows host (none runs where the collection is tested); see the
    C(real_server_windows) role's README.
author:
  - lbstack.rabbitmq contributors (@lbstack)
options:
  loopback_adapter:
    description: Name of the loopback adapter that carries the VIPs.
    type: str
    default: loopback
  lan_adapter:
    description:
      - Name of the client-facing adapter. Empty, the adapter that holds O(address).
    type: str
    default: ""
  address:
    description: This host's real server address (RIP), to find the client-facing adapter.
    type: str
    default: ""
  firewall_rule:
    description: Name of the collection's inbound firewall rule for the VIPs.
    type: str
    default: lbstack-real-server-dr
attributes:
  check_mode:
    support: full
    description: Reads only.
  diff_mode:
    support: none
    description: Nothing to show.
  platform:
    support: full
    platforms: windows
    description: Windows Server 2012 and later.
notes:
  - Needs Windows Server 2012 or later (the NetAdapter, NetTCPIP and NetSecurity PowerShell modules).
"""

EXAMPLES = r"""
- name: Read the loopback adapter and the weak-host settings
  lbstack.rabbitmq.win_dr_real_server_info:
    loopback_adapter: loopback
    address: 198.18.0.41
  register: dr_facts
"""

RETURN = r"""
loopback:
  description: The loopback adapter; C(ours) is whether it is a Microsoft KM-TEST Loopback Adapter.
  returned: always
  type: dict
  sample: {"name": "loopback", "present": true, "ours": true,
           "bindings": {"ms_tcpip": true, "ms_tcpip6": false, "ms_server": false}}
lan_adapter:
  description: The client-facing adapter's name.
  returned: always
  type: str
  sample: Ethernet
addresses:
  description: The loopback adapter's addresses (link-local and automatic ones left out).
  returned: always
  type: list
  elements: dict
  sample: [{"family": "ipv4", "address": "198.18.0.100", "prefix": 32}]
interfaces:
  description: Weak-host receive and send and DAD transmits, by family and adapter.
  returned: always
  type: dict
  sample: {"ipv4": {"Ethernet": {"weakhostreceive": "enabled", "weakhostsend": "disabled", "dadtransmits": 0}}}
firewall:
  description: The collection's firewall rule (its local addresses and TCP ports), or null.
  returned: always
  type: dict
  sample: {"name": "lbstack-real-server-dr", "addresses": ["198.18.0.100"], "ports": [5672]}
"""
