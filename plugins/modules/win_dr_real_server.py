#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, lbstack.rabbitmq contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

# The module is PowerShell (win_dr_real_server.ps1); this file documents it.

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: win_dr_real_server
short_description: Carry out the plan that prepares a Windows real server for Direct Routing
version_added: 0.1.0
description:
  - Carries out, in order, the steps of a plan made by the C(lbstack.rabbitmq.windows_real_server_plan)
    filter from the facts of M(lbstack.rabbitmq.win_dr_real_server_info) and the model - the guide's
    procedure for Windows Server 2012 and later, without its GUI.
  - C(install_loopback) installs a Microsoft KM-TEST Loopback Adapter the way C(devcon install
    netloop.inf *MSLOOP) does, through SetupAPI (a root-enumerated device of class Net with hardware
    ID C(*MSLOOP), then its driver from C(%WINDIR%\\inf\\netloop.inf)), and names it; Windows
    ships no C(devcon). C(remove_loopback) removes that device again.
  - C(add_address) and C(delete_address) put each VIP on the loopback adapter (IPv4 with prefix 32,
    mask 255.255.255.255; IPv6 with prefix 128), with C(SkipAsSource) so the server never uses a VIP
    as the source of its own connections. C(set_binding) and C(disable_other_bindings) leave the
    adapter bound to the IP protocols of its VIPs only. C(set_interface) sets weak-host receive and
    send and DAD transmits (C(Set-NetIPInterface)). The firewall steps manage one inbound rule.
  - An empty plan changes nothing. Check mode reports what would change and does nothing; diff mode
    returns the plan's before and after.
  - Not yet run on a live Windows host (none runs where the collection is tested); see the
    C(real_server_windows) role's README.
author:
  - lbstack.rabbitmq contributors (@lbstack)
options:
  plan:
    description: The plan (C(steps), C(before), C(after)) from the C(lbstack.rabbitmq.windows_real_server_plan) filter.
    type: dict
    required: true
attributes:
  check_mode:
    support: full
    description: Reports the plan's steps and carries none out.
  diff_mode:
    support: full
    description: The plan's before and after.
  platform:
    support: full
    platforms: windows
    description: Windows Server 2012 and later.
notes:
  - Needs Windows Server 2012 or later, PowerShell 5.1 and an administrator (the adapter's install
    compiles a small C# class with C(Add-Type)).
"""

EXAMPLES = r"""
- name: Read the host
  lbstack.rabbitmq.win_dr_real_server_info:
    address: 198.18.0.41
  register: dr_facts

- name: Prepare it for the Direct Routing VIP 198.18.0.100
  lbstack.rabbitmq.win_dr_real_server:
    plan: "{{ dr_facts | lbstack.rabbitmq.windows_real_server_plan({'ipv4': ['198.18.0.100']}, dr_facts.lan_adapter, ports=[5672]) }}"
"""

RETURN = r"""
steps:
  description: The steps carried out (in check mode, those that would be), each with the command an operator would type.
  returned: always
  type: list
  elements: dict
  sample: [{"action": "set_interface", "command": "netsh interface ipv4 set interface \"Ethernet\" weakhostreceive=enabled"}]
reboot_required:
  description: Whether the adapter's driver install asked for a reboot.
  returned: always
  type: bool
  sample: false
"""
