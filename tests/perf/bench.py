"""Benchmarks on the lab; figures go to tests/perf/results.md (no pass/fail).

    python tests/perf/bench.py [--runs 5] [--idle-minutes 10] [--skip-cold]

Needs the converged lab (`make lab`). Measures, in one run:
- VIP failover as a client sees it: the longest gap between confirmed publishes
  (one every 20 ms) when keepalived stops on the master (graceful) and when the
  master host is killed (hard); median of --runs each;
- spurious VRRP transitions while idle for --idle-minutes;
- publish throughput with confirms through the VIP / directly to one broker,
  alternated, median of --runs each, and their ratio;
- site.yml: a cold deploy on fresh hosts (unless --skip-cold) and converged re-runs.
"""

import argparse
import datetime
import json
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PY = sys.executable
CLIENT = [PY, str(ROOT / "lab/amqp_client.py")]
LABCTL = [PY, str(ROOT / "lab/labctl.py")]
SSH = ["ssh", "-F", "/var/lib/lbstack-lab/ssh_config"]
CREDS = ["--user", "lbstack", "--password", "lab-only-not-a-secret"]
VIP, LB1, LB2, RABBIT1 = "198.18.0.100", "198.18.0.11", "198.18.0.12", "198.18.0.21"
RESULTS = ROOT / "tests/perf/results.md"


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, text=True, capture_output=True, **kw).stdout


def ssh(host, command, check=True):
    return subprocess.run(SSH + [host, command], check=check, text=True, capture_output=True).stdout


def client(*args):
    return json.loads(run(CLIENT + list(args) + CREDS))


def wait_restored(timeout=120):
    """lb1 holds the VIP and HAProxy there sees three healthy brokers."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if VIP + "/" in ssh(LB1, "ip -o addr show", check=False):
                stat = ssh(LB1, "echo 'show stat' | python3 -c \"import socket,sys;"
                           "s=socket.socket(socket.AF_UNIX);s.connect('/run/haproxy/admin.sock');"
                           "s.sendall(b'show stat\\n');d=b''\nwhile not d.endswith(b'\\n\\n'):\n"
                           " c=s.recv(65536)\n if not c: break\n d+=c\nprint(d.decode())\"",
                           check=False)
                if len(re.findall(r",UP,", stat)) >= 4:  # 3 servers + backend
                    client("roundtrip")
                    return
        except (subprocess.CalledProcessError, ValueError):
            pass
        time.sleep(1)
    raise SystemExit("bench: the lab did not come back")


def failover(kind, runs):
    gaps = []
    for _run in range(runs):
        wait_restored()
        time.sleep(2)
        probe = subprocess.Popen(CLIENT + ["probe", "--seconds", "8", "--interval", "0.02"] + CREDS,
                                 stdout=subprocess.PIPE, text=True)
        time.sleep(2)
        if kind == "graceful":
            ssh(LB1, "systemctl stop keepalived")
        else:
            run(LABCTL + ["kill", "lb1"])
        result = json.loads(probe.communicate()[0])
        gaps.append(result["longest_gap"])
        if kind == "graceful":
            ssh(LB1, "systemctl start keepalived")
        else:
            run(LABCTL + ["up"])
    return gaps


def throughput(runs, count=2000):
    """Publish rates through the VIP and directly to the same broker, alternated.

    Each run declares a fresh quorum queue on the broker it talks to (so its
    leader is local on both paths) and sends the direct run to the broker the
    VIP picked: the only difference left is the load balancer.
    """
    via, direct = [], []
    addresses = {"rabbit@rabbit%d" % i: "198.18.0.2%d" % i for i in (1, 2, 3)}
    for index in range(runs):
        first = client("publish", "--count", str(count), "--queue", "bench.vip.%d" % index,
                       "--delete", "--host", VIP)
        via.append(first["rate"])
        direct.append(client("publish", "--count", str(count), "--queue", "bench.direct.%d" % index,
                             "--delete", "--host", addresses[first["node"]])["rate"])
    return via, direct


def transitions(host):
    out = ssh(host, "journalctl -u keepalived --no-pager -o cat")
    return len(re.findall(r"Entering (MASTER|BACKUP|FAULT) STATE", out))


def idle(minutes):
    before = {h: transitions(h) for h in (LB1, LB2)}
    time.sleep(minutes * 60)
    return sum(transitions(h) - before[h] for h in (LB1, LB2))


def deploy():
    start = time.monotonic()
    out = run(["ansible-playbook", "site.yml"], cwd=ROOT)
    changed = sum(int(n) for n in re.findall(r"changed=(\d+)", out))
    return round(time.monotonic() - start, 1), changed


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--idle-minutes", type=float, default=10)
    parser.add_argument("--skip-cold", action="store_true")
    args = parser.parse_args()
    figures = {}
    if not args.skip_cold:
        start = time.monotonic()
        run(LABCTL + ["up", "--fresh"])
        seconds = deploy()[0]
        figures["cold"] = (round(time.monotonic() - start, 1), seconds)
    wait_restored()
    reruns = [deploy() for _run in range(3)]
    figures["rerun"] = reruns
    via, direct = throughput(args.runs)
    figures["throughput"] = (via, direct)
    figures["graceful"] = failover("graceful", args.runs)
    figures["hard"] = failover("hard", args.runs)
    wait_restored()
    figures["idle"] = (args.idle_minutes, idle(args.idle_minutes))
    write(figures, args)


def write(f, args):
    med = statistics.median
    via, direct = f["throughput"]
    lines = [
        "# Benchmark results",
        "",
        "Written by `make bench` (`tests/perf/bench.py`) on %s, on the local lab (podman "
        "containers on one 2-core machine; noisy). Medians of %d runs unless said."
        % (datetime.date.today().isoformat(), args.runs),
        "",
        "| figure | result | target |",
        "|---|---|---|",
        "| VIP failover, keepalived stopped on the master (client gap, probe every 20 ms) "
        "| median %.3f s (runs: %s) | <= 1 s |" % (med(f["graceful"]), ", ".join("%.3f" % g for g in f["graceful"])),
        "| VIP failover, master host killed | median %.3f s (runs: %s) | <= 1.5 s |"
        % (med(f["hard"]), ", ".join("%.3f" % g for g in f["hard"])),
        "| spurious VRRP transitions while idle | %d in %g min | 0 in 10 min |" % (f["idle"][1], f["idle"][0]),
        "| publish with confirms, through the VIP | median %.0f msg/s (runs: %s) | |"
        % (med(via), ", ".join("%.0f" % v for v in via)),
        "| publish with confirms, directly to the same broker | median %.0f msg/s (runs: %s) | |"
        % (med(direct), ", ".join("%.0f" % v for v in direct)),
        "| ratio VIP / direct (same run) | %.3f | >= 0.90 |" % (med(via) / med(direct)),
    ]
    if "cold" in f:
        lines.append("| cold deploy: fresh lab hosts + site.yml | %.1f s (site.yml %.1f s) | |" % f["cold"])
    lines.append("| site.yml re-run on the converged lab | median %.1f s, changed=%s (3 runs) | < 60 s, 0 changed |"
                 % (med([r[0] for r in f["rerun"]]), ",".join(str(r[1]) for r in f["rerun"])))
    lines += ["", "VRRP adverts every 0.25 s (VRRPv3). Throughput: 2000 persistent messages per run "
              "into a fresh 3-member quorum queue whose leader is the broker the client talks to, "
              "one publisher waiting for each confirm, from the lab machine; the direct run goes to "
              "the broker the VIP picked in the same iteration.", ""]
    RESULTS.write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
