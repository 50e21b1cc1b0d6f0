"""The spurious-transition benchmark's reading of VRRP adverts (tests/perf/bench.py),
on lines tcpdump printed on the lab's bridge (lb1 advertising to lb2 every 0.05 s)."""
import importlib.util
from pathlib import Path

import pytest

SPEC = importlib.util.spec_from_file_location("bench", Path(__file__).resolve().parents[1] / "perf/bench.py")
bench = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(bench)

CAPTURED = """\
1795877046.178301 IP 198.18.0.11 > 198.18.0.12: VRRPv3, Advertisement, vrid 18, prio 150, intvl 5cs, length 12
1795877046.229550 IP 198.18.0.11 > 198.18.0.12: VRRPv3, Advertisement, vrid 18, prio 150, intvl 5cs, length 12
1795877046.279806 IP 198.18.0.11 > 198.18.0.12: VRRPv3, Advertisement, vrid 18, prio 150, intvl 5cs, length 12
"""


def test_gaps_per_source():
    late = "1795877046.533000 IP 198.18.0.11 > 198.18.0.12: VRRPv3, Advertisement, vrid 18, prio 150, intvl 5cs, length 12\n"
    peer = "1795877046.540000 IP 198.18.0.12 > 198.18.0.11: VRRPv3, Advertisement, vrid 18, prio 100, intvl 5cs, length 12\n"
    seen = bench.advert_gaps(CAPTURED + late + peer)
    count, gaps = seen["198.18.0.11"]
    assert count == 4
    assert gaps == pytest.approx([0.051249, 0.050256, 0.253194], abs=1e-6)
    assert seen["198.18.0.12"] == (1, [])


def test_ignores_what_is_not_a_packet_line():
    text = "tcpdump: listening on podman1, link-type EN10MB (Ethernet)\n" + CAPTURED + "\n3 packets captured\n"
    assert bench.advert_gaps(text)["198.18.0.11"][0] == 3


def test_master_down_of_the_lab_interval():
    # 0.05 s adverts: 3 missed plus the priority-100 backup's skew.
    assert bench.master_down(0.05) == pytest.approx(0.1805, abs=1e-4)
