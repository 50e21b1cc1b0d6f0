# -*- coding: utf-8 -*-
# Copyright: (c) 2026, lbstack.rabbitmq contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""keepalived/IPVS side of a Layer 4 Direct Routing virtual service.

``render_service`` turns one normalized ``l4_dr`` service (see ``model.py``)
into keepalived ``virtual_server`` blocks, one per VIP address and port.
``parse_ipvsadm`` reads ``ipvsadm -Ln --exact`` so that tests and ``lb_info``
can see what the kernel really forwards.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

# Health checks tuned so that a dead broker leaves the IPVS table within about
# three seconds: a check every second, one second to answer, one retry.
DELAY_LOOP = 1
CHECK_TIMEOUT = 1
RETRY = 1
DELAY_BEFORE_RETRY = 0.5


def _endpoint(address, port):
    return "%s %d" % (address, port)


def _checker(svc, address, port, checker_path):
    if svc["health_check"] == "none":
        return []
    if svc["health_check"] == "tcp":
        return [
            "        TCP_CHECK {",
            "            connect_port %d" % port,
            "            connect_timeout %d" % CHECK_TIMEOUT,
            "            retry %d" % RETRY,
            "            delay_before_retry %s" % DELAY_BEFORE_RETRY,
            "        }",
        ]
    return [
        "        MISC_CHECK {",
        '            misc_path "%s %s %d"' % (checker_path, address, port),
        "            misc_timeout %d" % (CHECK_TIMEOUT + 1),
        "            retry %d" % RETRY,
        "            delay_before_retry %s" % DELAY_BEFORE_RETRY,
        "        }",
    ]


def render_service(svc, checker_path):
    """Return the keepalived ``virtual_server`` blocks of one l4_dr service."""
    if svc["mode"] != "l4_dr":
        raise ValueError("keepalived/IPVS renders l4_dr services, not %r" % svc["mode"])
    lines = ["# Virtual service %s (Layer 4 Direct Routing), managed by lbstack.rabbitmq"
             % svc["label"]]
    families = [("vip", "ip")]
    if svc.get("vip6"):
        families.append(("vip6", "ip6"))
    for vip_key, rip_key in families:
        vip = svc.get(vip_key)
        if not vip:
            continue
        for port in svc["ports"]:
            lines += [
                "virtual_server %s {" % _endpoint(vip, port),
                "    delay_loop %d" % DELAY_LOOP,
                "    lb_algo %s" % svc["scheduler"],
                "    lb_kind DR",
                "    protocol TCP",
            ]
            for rs in svc["real_servers"]:
                address = rs.get(rip_key)
                lines += [
                    "    real_server %s {" % _endpoint(address, port),
                    "        weight %d" % rs["weight"],
                ]
                if rs["max_conns"]:
                    lines.append("        uthreshold %d" % rs["max_conns"])
                if rs["min_conns"]:
                    lines.append("        lthreshold %d" % rs["min_conns"])
                lines += _checker(svc, address, port, checker_path)
                lines.append("    }")
            lines.append("}")
    return "\n".join(lines) + "\n"


_SERVICE_RE = re.compile(r"^(TCP|UDP|SCTP)\s+(\S+)\s+(\S+)(.*)$")
_REAL_RE = re.compile(r"^\s+->\s+(\S+)\s+(\S+)\s+(\d+)\s+(\d+)\s+(\d+)\s*$")


def _split_endpoint(text):
    if text.startswith("["):
        address, port = text[1:].rsplit("]:", 1)
    else:
        address, port = text.rsplit(":", 1)
    return address, int(port)


def parse_ipvsadm(text):
    """Parse ``ipvsadm -Ln --exact`` into a list of virtual services.

    Each entry: ``{"protocol", "vip", "port", "scheduler", "flags",
    "real_servers": [{"ip", "port", "forward", "weight", "active", "inactive"}]}``.
    """
    services = []
    for line in text.splitlines():
        match = _SERVICE_RE.match(line)
        if match:
            vip, port = _split_endpoint(match.group(2))
            services.append({"protocol": match.group(1).lower(), "vip": vip, "port": port,
                             "scheduler": match.group(3), "flags": match.group(4).strip(),
                             "real_servers": []})
            continue
        match = _REAL_RE.match(line)
        if match and services:
            ip, port = _split_endpoint(match.group(1))
            services[-1]["real_servers"].append({
                "ip": ip, "port": port, "forward": match.group(2),
                "weight": int(match.group(3)), "active": int(match.group(4)),
                "inactive": int(match.group(5))})
    return services
