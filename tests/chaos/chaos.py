"""Chaos suite: break the lab on purpose and count what the clients lost.

    make chaos [MODE=l4_dr] [ONLY=case,case]
    python tests/chaos/chaos.py --mode l7_snat|l4_dr [--only case,case]

Needs the converged lab of the mode (`make chaos` deploys it first). Every case
runs with a publisher (confirms, one message every 50 ms, reconnecting) and a
consumer through the VIP from the lab machine; at the end every confirmed
message is looked for (consumed or still in the queue): the lost ones, and the
ones delivered twice, are counted. Each case then checks its own target:

- keepalived_kill9   kill -9 every keepalived process on the master, then start it
- host_kill          the master host loses power (off the network, then killed), then boots
- graceful_stop      systemctl stop keepalived on the master, then start
- split_brain        the pair cannot hear each other (both hold the VIPs), then the
                     partition heals: one VIP owner within 1 s, and clients recover
- broker_kill        the broker that serves the publisher loses power mid-publish, then boots
- brokers_restart    every broker restarted, one after the other
- haproxy_reloads    200 HAProxy reloads on the master under steady new-connection
                     load: 0 failed connections (Layer 7 only)
- keepalived_reloads 100 keepalived reloads on the master with 100 long-lived
                     connections held: 0 VRRP transitions, 0 connections lost

The figures go to tests/perf/results.md (section "Chaos suite, <mode>"); the
exit status is 1 when a case missed its target.
"""

import argparse
import datetime
import json
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "perf"))
import bench  # noqa: E402  pylint: disable=wrong-import-position
from bench import CLIENT, CREDS, LABCTL, LB1, LB2, VIP, run, ssh  # noqa: E402  pylint: disable=wrong-import-position

LB_NAMES = {LB1: "lb1", LB2: "lb2"}
LB6 = {LB1: "2001:db8:18::11", LB2: "2001:db8:18::12"}
CHURN_STOP = "/tmp/lbstack-chaos-churn.stop"
# Seconds the clients run before each case breaks anything.
CLIENTS_LEAD = 5
# Every packet from the peer dropped before anything else sees it (VRRP, and
# IPVS sync on a Direct Routing pair): the pair is partitioned, the clients are not.
PARTITION = """nft -f - <<'EOF'
table inet lbstack_chaos {
    chain input {
        type filter hook input priority -10; policy accept;
        ip saddr %s drop
        ip6 saddr %s drop
    }
}
EOF"""
# Heal on lb2 and time, on lb2's clock, how long it keeps the VIP afterwards.
HEAL_AND_TIME = ("t0=$(date +%%s.%%N); nft delete table inet lbstack_chaos; n=0; "
                 "while ip -o addr show | grep -qF ' %s/' && [ $n -lt 1000 ]; do sleep 0.01; n=$((n+1)); done; "
                 "t1=$(date +%%s.%%N); echo $t0 $t1")


def restored(mode, timeout=300):
    (bench.wait_restored if mode == "l7_snat" else bench.wait_restored_dr)(timeout)
    deadline = time.monotonic() + 60
    while vip_owners() != ["lb1"]:
        if time.monotonic() > deadline:
            raise SystemExit("chaos: the VIP is on %s, not on lb1 alone" % vip_owners())
        time.sleep(0.5)
    brokers_running()


def vip_owners(hosts=(LB1, LB2)):
    return [LB_NAMES[host] for host in hosts if " %s/" % VIP in ssh(host, "ip -o addr show", check=False)]


def forget(address):
    """Close the shared SSH connection to a host that just died: a command sent
    over it would wait for the keepalive timeout (a minute) before failing."""
    subprocess.run(bench.SSH + ["-O", "exit", address], check=False, capture_output=True)


def brokers_running(timeout=300):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        out = ssh(bench.RABBIT1, "rabbitmqctl -q cluster_status --formatter json", check=False)
        try:
            if len(json.loads(out).get("running_nodes", [])) == 3:
                return
        except ValueError:
            pass
        time.sleep(2)
    raise SystemExit("chaos: the cluster did not get its three brokers back")


def transitions():
    return sum(bench.transitions(host) for host in LB_NAMES)


def serving(mode):
    return (bench.haproxy_serving if mode == "l7_snat" else bench.ipvs_serving)(LB1)


def wait_serving(mode, timeout=300):
    deadline = time.monotonic() + timeout
    while not serving(mode):
        if time.monotonic() > deadline:
            raise SystemExit("chaos: lb1 does not see every broker up")
        time.sleep(1)


# Each case returns (faults injected, what it checked, whether that met its target).

def keepalived_kill9(mode):
    ssh(LB1, "pkill -9 -x keepalived")
    time.sleep(5)
    owners = vip_owners()
    ssh(LB1, "systemctl reset-failed keepalived; systemctl start keepalived")
    restored(mode)
    return 1, "VIP owners 5 s after the kill: %s; lb1 alone after its restart" % ",".join(owners), "lb2" in owners


def host_kill(mode):
    run(LABCTL + ["kill", "lb1"])
    forget(LB1)
    time.sleep(5)
    owners = vip_owners([LB2])  # lb1 is off
    run(LABCTL + ["up"])
    restored(mode)
    return 1, "lb2 holds the VIP 5 s after lb1's power loss: %s" % ("yes" if owners else "no"), owners == ["lb2"]


def graceful_stop(mode):
    ssh(LB1, "systemctl stop keepalived")
    time.sleep(5)
    owners = vip_owners()
    ssh(LB1, "systemctl start keepalived")
    restored(mode)
    return 1, "VIP owners 5 s after the stop: %s" % ",".join(owners), owners == ["lb2"]


def split_brain(mode):
    ssh(LB1, PARTITION % (LB2, LB6[LB2]))
    ssh(LB2, PARTITION % (LB1, LB6[LB1]))
    time.sleep(5)
    split = vip_owners()
    ssh(LB1, "nft delete table inet lbstack_chaos")
    t0, t1 = (float(t) for t in ssh(LB2, HEAL_AND_TIME % VIP).split())
    healed = round(t1 - t0, 3)
    owners = vip_owners()
    time.sleep(3)
    try:
        recovered = bench.client("roundtrip")["ok"]
    except (subprocess.CalledProcessError, ValueError):
        recovered = False
    restored(mode)
    return (1, "owners while split: %s; lb2 gave the VIP up %.3f s after the heal; owners then: %s; "
            "a new client's round trip: %s" % (",".join(split), healed, ",".join(owners), "ok" if recovered else "failed"),
            split == ["lb1", "lb2"] and healed <= 1.0 and owners == ["lb1"] and recovered)


def publisher_broker():
    counts = dict((name, bench.client_connections(name)) for name in bench.BROKERS)
    return max(counts, key=counts.get)


def broker_kill(mode):
    name = publisher_broker()
    run(LABCTL + ["kill", name])
    forget(bench.BROKERS[name])
    time.sleep(10)
    run(LABCTL + ["up"])
    brokers_running()
    wait_serving(mode)
    restored(mode)
    return 1, "%s lost power, booted, rejoined" % name, True


def brokers_restart(mode):
    for address in bench.BROKERS.values():
        ssh(address, "systemctl restart rabbitmq-server && rabbitmqctl -q await_startup")
        brokers_running()
        wait_serving(mode)
    restored(mode)
    return 3, "rabbitmq-server restarted on each broker in turn", True


def haproxy_reloads(mode, count=200):
    churn = subprocess.Popen(CLIENT + ["churn", "--seconds", "900", "--stop-file", CHURN_STOP,
                                       "--queue", "chaos.churn"] + CREDS, stdout=subprocess.PIPE, text=True)
    time.sleep(3)
    failed_reloads = ssh(LB1, "n=0; for i in $(seq %d); do systemctl reload haproxy || n=$((n+1)); sleep 0.2; done; "
                              "echo $n" % count).strip()
    time.sleep(3)
    Path(CHURN_STOP).touch()
    result = json.loads(churn.communicate(timeout=60)[0])
    restored(mode)
    return (count, "%d reloads (%s refused); new connections meanwhile: %d, failed %d%s"
            % (count, failed_reloads, result["connections"], result["failed"],
               " (%s)" % result["errors"][:3] if result["errors"] else ""),
            failed_reloads == "0" and result["failed"] == 0 and result["connections"] > count)


def keepalived_reloads(mode, count=100, connections=100):
    before = transitions()
    hold = bench.start_hold(connections, 1)
    ssh(LB1, "for i in $(seq %d); do systemctl reload keepalived; sleep 0.5; done" % count)
    time.sleep(5)
    held = bench.stop_hold(hold)
    moved = transitions() - before
    restored(mode)
    return (count, "%d reloads: VRRP transitions %d; held connections working after: %d of %d"
            % (count, moved, held["survived"], held["connections"]),
            moved == 0 and held["survived"] == held["connections"])


CASES = [keepalived_kill9, host_kill, graceful_stop, split_brain, broker_kill, brokers_restart,
         haproxy_reloads, keepalived_reloads]
# Cases that exist in one mode only (a Direct Routing pair runs no HAProxy).
ONLY_IN = {"haproxy_reloads": "l7_snat"}


def run_case(mode, case):
    if ONLY_IN.get(case.__name__, mode) != mode:
        return None
    restored(mode)
    time.sleep(3)
    procs = bench.probes(1, "chaos." + case.__name__, consumer=True)
    time.sleep(CLIENTS_LEAD)
    start = time.monotonic()
    try:
        outcome = case(mode)
    finally:
        time.sleep(5)
        report = bench.stop_probes(procs)[0]
    faults, check, met = outcome
    lost = report["lost"]
    row = {"case": case.__name__, "faults": faults, "check": check, "met": met, "lost": lost,
           "confirmed": report["confirmed"], "duplicates": report.get("duplicates", 0),
           "reconnects": report["reconnects"] + report.get("consumer_reconnects", 0),
           "gap": report["longest_gap"], "consumer_wait": report.get("consumer_wait") or 0.0,
           "seconds": round(time.monotonic() - start)}
    row["ok"] = met and lost == 0
    # The clients' own events (connects, failures; seconds since the clients
    # started, CLIENTS_LEAD before the case) go to the log only: they say when
    # in the case a reconnect happened.
    print(json.dumps(dict(row, events=report["events"])), flush=True)
    return row


def write(mode, rows, minutes):
    lines = [
        "Written by `make chaos MODE=%s` (`tests/chaos/chaos.py`) on %s, on the lab, in %.0f min. Load in every "
        "case: a publisher with confirms (a message every 50 ms, reconnecting) and a consumer through the VIP "
        "from the lab machine; lost = confirmed messages neither consumed nor left in the queue at the end "
        "(target 0); duplicates = messages delivered twice (at-least-once delivery allows them); gap = longest "
        "time between two confirmed publishes; read back after = seconds the final read of the queue waited for "
        "its consumers to go (a consumer connection left open on the broker by a path through a balancer that "
        "died or lost the VIP holds its unacknowledged messages until the broker closes it)."
        % (mode, datetime.date.today().isoformat(), minutes),
        "",
        "| case | faults | confirmed | lost | duplicates | reconnects | longest gap | read back after | case check "
        "| target met |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append("| %s | %d | %d | %s | %d | %d | %.2f s | %.0f s | %s | %s |" % (
            r["case"], r["faults"], r["confirmed"], r["lost"], r["duplicates"], r["reconnects"], r["gap"],
            r["consumer_wait"],
            r["check"], "yes" if r["ok"] else "**no**"))
    lines.append("")
    bench.write_section("## Chaos suite, %s, %s" % (bench.MODES[mode], bench.lab_platform()), lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--mode", choices=["l7_snat", "l4_dr"], default="l7_snat")
    parser.add_argument("--only", default="", help="comma-separated case names")
    args = parser.parse_args()
    names = [c.__name__ for c in CASES]
    wanted = [n for n in args.only.split(",") if n] or names
    unknown = sorted(set(wanted) - set(names))
    if unknown:
        parser.error("unknown case(s) %s; the cases are %s" % (", ".join(unknown), ", ".join(names)))
    start = time.monotonic()
    rows = []
    try:
        for case in CASES:
            if case.__name__ in wanted:
                row = run_case(args.mode, case)
                if row:
                    rows.append(row)
    finally:
        for stop in (bench.STOP, CHURN_STOP, bench.HOLD_STOP):
            Path(stop).touch()  # no client left behind when a case fails
        for host in LB_NAMES:
            ssh(host, "nft delete table inet lbstack_chaos 2>/dev/null; true", check=False)
    write(args.mode, rows, (time.monotonic() - start) / 60)
    return 0 if all(r["ok"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
