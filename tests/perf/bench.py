"""Benchmarks on the lab; figures go to tests/perf/results.md (no pass/fail).

    python tests/perf/bench.py [--runs 5] [--idle-minutes 10] [--skip-cold]
    python tests/perf/bench.py --mode l4_dr [--runs 5]

Each mode rewrites its own section of the results file, one per platform the lab
runs (read from the brokers: Debian 13 by default, Debian 12 with LAB_OS=debian12),
so the figures of both platforms stay side by side.

--mode l4_dr needs the converged Direct Routing lab (`make lab MODE=l4_dr`) and
measures: publish throughput through the DR VIP / directly to the same broker
(same run); the share of 100 long-lived connections still working after the
active director fails over (keepalived stopped on lb1); the time from killing a
broker (SIGKILL) to its removal from the active director's IPVS table; the VIP
failover gap a publishing client sees.

--only feedback (with --mode l7_snat or l4_dr, on that converged lab; also part of
each full lab run) measures the time from a load change on rabbit3 (a CPU load of
70 % of its one CPU started, then ended) to the new weight on the active load
balancer (lb1): HAProxy's agent-check or keepalived's misc_dynamic checker.

--only day2 (with --mode l7_snat or l4_dr, on that converged lab; also part of
each full lab run) measures rolling_restart.yml of the three brokers under load
(a publisher with confirms every 50 ms and a consumer through the VIP): the
playbook's total time, the longest gap between confirmed publishes, the
confirmed messages lost; and the time from draining the broker with the most
clients (drain.yml, then `rabbitmq-upgrade drain`) to its last client
connection leaving, with 12 publishers that reconnect through the VIP.

--mode agent needs no lab: it starts the feedback agent on loopback and
measures its reply latency with 100 concurrent pollers (p50/p99 per run) and
the CPU time the agent spends per 1000 polls.

--mode l7_snat (default) needs the converged lab (`make lab`). Measures, in one run:
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
import os
import random
import re
import socket
import shlex
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
PY = sys.executable
CLIENT = [PY, str(ROOT / "lab/amqp_client.py")]
# the venv's, also when PATH does not have it (make bench puts it first)
PLAYBOOK = str(Path(PY).parent / "ansible-playbook") if (Path(PY).parent / "ansible-playbook").exists() else "ansible-playbook"
LABCTL = [PY, str(ROOT / "lab/labctl.py")]
SSH = ["ssh", "-F", "/var/lib/lbstack-lab/ssh_config"]
CREDS = ["--user", "lbstack", "--password", "lab-only-not-a-secret"]
VIP, LB1, LB2, RABBIT1 = "198.18.0.100", "198.18.0.11", "198.18.0.12", "198.18.0.21"
RESULTS = ROOT / "tests/perf/results.md"
INVENTORIES = {"l7_snat": "inventories/lab", "l4_dr": "inventories/lab_dr"}
RABBIT3, RABBIT3_6 = "198.18.0.23", "2001:db8:18::23"
MODES = {"l7_snat": "Layer 7 SNAT (HAProxy)", "l4_dr": "Layer 4 Direct Routing (IPVS)",
         "agent": "Feedback agent on loopback", "feedback": "Feedback agent to weight"}
AGENT = ROOT / "roles/feedback_agent/files/lbstack_feedback_agent.py"


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, text=True, capture_output=True, **kw).stdout


def ssh(host, command, check=True):
    return subprocess.run(SSH + [host, command], check=check, text=True, capture_output=True).stdout


def client(*args):
    return json.loads(run(CLIENT + list(args) + CREDS))


def wait_lab(serving, timeout, what):
    """Wait until lb1 holds the VIP, ``serving(lb1)`` is true and a round trip works."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if VIP + "/" in ssh(LB1, "ip -o addr show", check=False) and serving(LB1):
                client("roundtrip")
                return
        except (subprocess.CalledProcessError, ValueError):
            pass
        time.sleep(1)
    raise SystemExit("bench: the %s did not come back" % what)


def haproxy_serving(host):
    """HAProxy on ``host`` sees three healthy brokers."""
    stat = ssh(host, "echo 'show stat' | python3 -c \"import socket,sys;"
               "s=socket.socket(socket.AF_UNIX);s.connect('/run/haproxy/admin.sock');"
               "s.sendall(b'show stat\\n');d=b''\nwhile not d.endswith(b'\\n\\n'):\n"
               " c=s.recv(65536)\n if not c: break\n d+=c\nprint(d.decode())\"",
               check=False)
    return len(re.findall(r",UP,", stat)) >= 4  # 3 servers + backend


def ipvs_serving(host):
    """The IPVS table on ``host`` forwards to all three brokers on both families."""
    return len(re.findall(r"-> \S+:5672\s+Route", ssh(host, "ipvsadm -Ln --exact", check=False))) >= 6


def wait_restored(timeout=120):
    wait_lab(haproxy_serving, timeout, "lab")


def wait_restored_dr(timeout=180):
    wait_lab(ipvs_serving, timeout, "Direct Routing lab")


def failover(kind, runs, restored=wait_restored):
    gaps = []
    for _run in range(runs):
        restored()
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


def throughput(runs, count=2000, publishers=1):
    """Aggregate publish rates through the VIP and directly to the same brokers, alternated.

    Each publisher declares a fresh quorum queue on the broker it talks to (so
    its leader is local on both paths) and waits for each confirm. The direct
    run sends each publisher to the broker its VIP counterpart reached (the
    node's name is in the AMQP server properties, cluster_name): the only
    difference left is the load balancer. Rate = all messages / the slowest
    publisher's time.
    """
    addresses = {"rabbit@rabbit%d" % i: "198.18.0.2%d" % i for i in (1, 2, 3)}
    via, direct = [], []

    def batch(kind, index, hosts):
        procs = [subprocess.Popen(CLIENT + ["publish", "--count", str(count), "--queue",
                                            "bench.%s.%d.%d" % (kind, index, n), "--delete",
                                            "--host", host] + CREDS, stdout=subprocess.PIPE, text=True)
                 for n, host in enumerate(hosts)]
        results = [json.loads(p.communicate()[0]) for p in procs]
        return round(count * len(hosts) / max(r["seconds"] for r in results), 1), [r["node"] for r in results]

    for index in range(runs):
        rate, nodes = batch("vip", index, [VIP] * publishers)
        via.append(rate)
        direct.append(batch("direct", index, [addresses[node] for node in nodes])[0])
    return via, direct


def dr_hold(runs, connections=100):
    """Share of long-lived connections still working after a director failover."""
    shares = []
    for _run in range(runs):
        wait_restored_dr()
        hold = subprocess.Popen(CLIENT + ["hold", "--connections", str(connections), "--seconds", "40",
                                          "--queue", "bench.hold", "--host", VIP] + CREDS,
                                stdout=subprocess.PIPE, text=True)
        time.sleep(15)
        ssh(LB1, "systemctl stop keepalived")
        shares.append(json.loads(hold.communicate()[0])["share"])
        ssh(LB1, "systemctl start keepalived")
    return shares


HOLD_STOP = "/tmp/lbstack-bench-hold.stop"
HOLD_READY = "/tmp/lbstack-bench-hold.ready"


def start_hold(connections, every):
    """``amqp_client.py hold`` through the VIP until HOLD_STOP exists; returns
    once every connection is open (its ready file written)."""
    Path(HOLD_READY).unlink(missing_ok=True)
    hold = subprocess.Popen(CLIENT + ["hold", "--connections", str(connections), "--seconds", "900",
                                      "--every", str(every), "--stop-file", HOLD_STOP,
                                      "--ready-file", HOLD_READY, "--host", VIP] + CREDS,
                            stdout=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 300
    while not Path(HOLD_READY).exists():
        if hold.poll() is not None or time.monotonic() > deadline:
            raise SystemExit("bench: the held connections did not open")
        time.sleep(0.5)
    return hold


def stop_hold(hold):
    """Stop a hold started by start_hold and return its report."""
    Path(HOLD_STOP).touch()
    return json.loads(hold.communicate(timeout=300)[0])


def dr_sync(kind, runs, connections=1000, every=10):
    """Share of ``connections`` long-lived connections (each publishing with a
    confirm every ``every`` seconds) still working after the active director
    fails: ``hard`` takes it off the network and kills it (power loss),
    ``graceful`` stops keepalived on it. Each run waits until every connection
    has been opened and used once, then fails lb1 over, lets every connection
    be used twice more, and counts the ones that still work."""
    shares = []
    for _run in range(runs):
        wait_restored_dr(300)
        time.sleep(2 * every)  # a returned lb1 has learnt the connections it will serve
        hold = start_hold(connections, every)
        time.sleep(every + 2)
        if kind == "graceful":
            ssh(LB1, "systemctl stop keepalived")
        else:
            run(LABCTL + ["kill", "lb1"])
        time.sleep(2 * every + 2)
        result = stop_hold(hold)
        shares.append(result["share"])
        print("sync %s: %s" % (kind, result), flush=True)
        if kind == "graceful":
            ssh(LB1, "systemctl start keepalived")
        else:
            run(LABCTL + ["up"])
    return shares


def sync_section(runs):
    hard = dr_sync("hard", runs)
    graceful = dr_sync("graceful", runs)
    wait_restored_dr(300)
    sysctls = ssh(LB1, "sysctl -n net.ipv4.vs.sync_threshold net.ipv4.vs.sync_refresh_period "
                       "net.ipv4.vs.sync_retries net.ipv4.vs.sync_sock_size").split("\n")

    def row(shares):
        return "median %.2f %%, lowest %.2f %% (%d runs: %s)" % (
            100 * statistics.median(shares), 100 * min(shares), len(shares),
            ", ".join("%.2f %%" % (100 * s) for s in shares))

    lines = [
        "Written by `make bench MODE=l4_dr ONLY=sync` on %s, on the Direct Routing lab (qemu directors). "
        "1000 connections through the VIP from the lab machine, each publishing with a confirm every 10 s; "
        "once all are open and used, the active director fails (hard: taken off the network and killed, "
        "as a power loss; graceful: keepalived stopped), and each connection is used twice more. IPVS sync: "
        "sync_threshold %s, sync_refresh_period %s s, sync_retries %s, sync_sock_size %s."
        % ((datetime.date.today().isoformat(),) + tuple(s.replace("\t", " ").strip() for s in sysctls[:4])),
        "",
        "| figure | result | target |",
        "|---|---|---|",
        "| connections working after the director lost power | %s | >= 99.9 %% |" % row(hard),
        "| connections working after keepalived stopped on the director | %s | >= 99.9 %% |" % row(graceful),
        "",
    ]
    write_section("## Connection sync, %s, %s" % (MODES["l4_dr"], lab_platform()), lines)


def dr_removal(runs):
    """Seconds from SIGKILL of rabbit3's broker to its removal from lb1's IPVS table.

    The wait runs on the director before the kill (no SSH start in the measured
    time); the broker's processes are killed (SIGKILL) through podman on this machine.
    """
    times = []
    gone = "while ipvsadm -Ln --exact | grep -qF -e '%s:5672' -e '[%s]:5672'; do sleep 0.05; done; echo gone" \
        % (RABBIT3, RABBIT3_6)
    for _run in range(runs):
        wait_restored_dr()
        waiter = subprocess.Popen(SSH + [LB1, gone], stdout=subprocess.PIPE, text=True)
        time.sleep(1)
        start = time.monotonic()
        # Every process of the broker's unit at once, as a crash or an OOM kill would.
        run(["podman", "exec", "rabbit3", "systemctl", "kill", "--signal=KILL", "rabbitmq-server.service"])
        waiter.communicate(timeout=60)
        times.append(round(time.monotonic() - start, 3))
        ssh(RABBIT3, "systemctl reset-failed rabbitmq-server; systemctl start rabbitmq-server")
    return times


def main_dr(args):
    figures = {}
    wait_restored_dr()
    figures["throughput"] = throughput(args.runs)
    figures["throughput8"] = throughput(args.runs, count=500, publishers=8)
    figures["hold"] = dr_hold(args.runs)
    figures["removal"] = dr_removal(args.runs)
    figures["graceful"] = failover("graceful", args.runs, wait_restored_dr)
    wait_restored_dr()
    write_section(section_title("l4_dr"), dr_lines(figures, args))
    feedback_section("l4_dr", args.runs)
    day2_section("l4_dr", args.runs)


def dr_lines(f, args):
    med = statistics.median
    via, direct = f["throughput"]
    return [
        "Written by `make bench MODE=l4_dr` on %s: directors are qemu VMs (TCG, one vCPU each) "
        "beside the broker containers on one 2-core machine; noisy. Medians of %d runs."
        % (datetime.date.today().isoformat(), args.runs),
        "",
        "| figure | result | target |",
        "|---|---|---|",
        "| publish with confirms, through the DR VIP | median %.0f msg/s (runs: %s) | |"
        % (med(via), ", ".join("%.0f" % v for v in via)),
        "| publish with confirms, directly to the same broker | median %.0f msg/s (runs: %s) | |"
        % (med(direct), ", ".join("%.0f" % v for v in direct)),
        "| ratio DR VIP / direct (same run) | %.3f | >= 0.97 |" % (med(via) / med(direct)),
        "| 8 publishers at once, through the DR VIP / directly | median %.0f / %.0f msg/s, ratio %.3f "
        "(runs: %s / %s) | |" % (med(f["throughput8"][0]), med(f["throughput8"][1]),
                                 med(f["throughput8"][0]) / med(f["throughput8"][1]),
                                 ", ".join("%.0f" % v for v in f["throughput8"][0]),
                                 ", ".join("%.0f" % v for v in f["throughput8"][1])),
        "| 100 long-lived connections still working after a director failover | median %.1f %% (runs: %s) | >= 99 %% |"
        % (100 * med(f["hold"]), ", ".join("%.0f %%" % (100 * h) for h in f["hold"])),
        "| broker killed (SIGKILL) to its removal from the IPVS table | median %.2f s (runs: %s) | <= 3 s |"
        % (med(f["removal"]), ", ".join("%.2f" % t for t in f["removal"])),
        "| VIP failover, keepalived stopped on the active director (client gap, probe every 20 ms) "
        "| median %.3f s (runs: %s) | <= 1 s |" % (med(f["graceful"]), ", ".join("%.3f" % g for g in f["graceful"])),
        "",
        "Throughput: 2000 persistent messages per run (8 publishers: 500 each) into fresh quorum queues "
        "led by the broker each publisher talks to, every publisher waiting for each confirm, from this "
        "machine (a client on the lab bridge); each direct publisher goes to the broker its VIP counterpart reached. "
        "Connections: `amqp_client.py hold`, each connection publishes with confirms every second for "
        "40 s; keepalived stops on lb1 after 15 s, lb2 takes over with the connection table the IPVS "
        "sync daemon sent it. Removal: health check every 2 s (`check_interval`), one retry after 0.5 s.",
        "",
    ]


def lab_platform():
    """The lab's platform as the brokers report it, for example "Debian 13"."""
    release = dict(line.split("=", 1) for line in ssh(RABBIT1, "cat /etc/os-release").splitlines() if "=" in line)
    return "%s %s" % (release["NAME"].strip('"').split()[0], release["VERSION_ID"].strip('"'))


def section_title(mode):
    if mode == "agent":
        return "## %s" % MODES[mode]
    return "## %s, %s" % (MODES[mode], lab_platform())


def agent_cpu_seconds(pid):
    fields = Path("/proc/%d/stat" % pid).read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / float(os.sysconf("SC_CLK_TCK"))


def agent_poll(port):
    started = time.perf_counter()
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        data = sock.recv(64)
    if not data.endswith(b"% up\n"):
        raise RuntimeError("agent replied %r" % data)
    return time.perf_counter() - started


def main_agent(args, pollers=100, polls_each=50, interval=0.1):
    """p50/p99 reply latency under ``pollers`` concurrent pollers, and CPU per 1000 polls."""
    with tempfile.TemporaryDirectory() as tmp:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        config = Path(tmp) / "agent.json"
        config.write_text(json.dumps({"bind": "127.0.0.1", "port": port, "cgroup": "none",
                                      "state_file": str(Path(tmp) / "state")}))
        proc = subprocess.Popen([PY, str(AGENT), "serve", "--config", str(config)])
        try:
            for _attempt in range(100):
                try:
                    agent_poll(port)
                    break
                except OSError:
                    time.sleep(0.05)
            runs = []
            for _run in range(args.runs):
                latencies = []
                lock = threading.Lock()

                def poller(offset):
                    # Each poller polls every 100 ms (a balancer polls every second or two),
                    # started at its own offset: 1000 polls/s offered in all.
                    time.sleep(offset)
                    mine = []
                    for _poll in range(polls_each):
                        mine.append(agent_poll(port))
                        time.sleep(max(0.0, interval - mine[-1]))
                    with lock:
                        latencies.extend(mine)

                cpu_before = agent_cpu_seconds(proc.pid)
                threads = [threading.Thread(target=poller, args=(interval * i / pollers,)) for i in range(pollers)]
                for thread in threads:
                    thread.start()
                for thread in threads:
                    thread.join()
                cpu = agent_cpu_seconds(proc.pid) - cpu_before
                latencies.sort()
                runs.append((latencies[len(latencies) // 2] * 1000, latencies[int(len(latencies) * 0.99)] * 1000,
                             1000.0 * cpu / len(latencies)))
        finally:
            proc.terminate()
            proc.wait(10)
    med = statistics.median
    lines = [
        "Written by `make bench MODE=agent` on %s: the agent (`roles/feedback_agent/files/`) on loopback on "
        "this 2-core machine, %d pollers at once, each polling every %d ms (%d polls/s in all), %d polls each "
        "per run (a connect, the reply, a close); the pollers are threads of one Python process beside the "
        "agent, so their own scheduling is in the figures. Medians of %d runs."
        % (datetime.date.today().isoformat(), pollers, interval * 1000, pollers / interval, polls_each, args.runs),
        "",
        "| figure | result | target |",
        "|---|---|---|",
        "| reply latency p50 | median %.2f ms (runs: %s) | |" % (
            med([r[0] for r in runs]), ", ".join("%.2f" % r[0] for r in runs)),
        "| reply latency p99 | median %.2f ms (runs: %s) | < 5 ms |" % (
            med([r[1] for r in runs]), ", ".join("%.2f" % r[1] for r in runs)),
        "| agent CPU time per 1000 polls (with its sampling every 0.5 s) | median %.0f ms (runs: %s) | |" % (
            med([r[2] for r in runs]) * 1000, ", ".join("%.0f" % (r[2] * 1000) for r in runs)),
        "",
    ]
    write_section(section_title("agent"), lines)


# A CPU load of 70 % of one CPU on a broker (its container has one): the agent
# answers about 30 % there.
LOAD = ("systemd-run --unit=lbstack-bench-load python3 -c 'import time\nwhile True:\n    t = time.monotonic()\n"
        "    while time.monotonic() - t < 0.07:\n        pass\n    time.sleep(0.03)'")
# Watchers on lb1: print "ok" once rabbit3's weight satisfies the test
# (one process for the whole wait, so no process start is in the measured time).
WATCH_L7 = ("python3 -c \"import socket, sys, time\n"
            "while True:\n"
            "    s = socket.socket(socket.AF_UNIX); s.connect('/run/haproxy/admin.sock'); s.sendall(b'show stat\\n')\n"
            "    d = b''\n"
            "    while True:\n"
            "        c = s.recv(65536)\n"
            "        if not c: break\n"
            "        d += c\n"
            "    row = [l for l in d.decode().splitlines() if l.split(',')[1:2] == ['rabbit3']][0].split(',')\n"
            "    if %s: print('ok'); break\n"
            "    time.sleep(0.05)\n\"")
WATCH_DR = ("while true; do w=$(ipvsadm -Ln --exact -t %s:5672 | awk '$2 == \"%s:5672\" {print $4}'); "
            "[ -n \"$w\" ] && [ \"$w\" %%s ] && break; sleep 0.05; done; echo ok" % (VIP, RABBIT3))


def feedback_timing(mode, runs):
    """Seconds from starting (then ending) the load on rabbit3 to its new weight on lb1:
    at most 40 when loaded (the agent answers about 30 %), at least 90 again after."""
    times = {"load": [], "unload": []}
    restored = wait_restored if mode == "l7_snat" else wait_restored_dr
    for _run in range(runs):
        restored()
        for change, command in (("load", LOAD), ("unload", "systemctl stop lbstack-bench-load")):
            if mode == "l7_snat":
                watch = WATCH_L7 % ("int(row[18]) <= 40" if change == "load" else "int(row[18]) >= 90")
            else:
                watch = WATCH_DR % ("-le 40" if change == "load" else "-ge 90")
            waiter = subprocess.Popen(SSH + [LB1, watch], stdout=subprocess.PIPE, text=True)
            # A random phase against the balancer's polls and the agent's samples:
            # a fixed rhythm here would measure one phase only.
            time.sleep(1.5 + random.uniform(0, 2))
            start = time.monotonic()
            ssh(RABBIT3, command)
            waiter.communicate(timeout=60)
            times[change].append(round(time.monotonic() - start, 2))
            time.sleep(3)
        ssh(RABBIT3, "systemctl reset-failed lbstack-bench-load", check=False)
    return times


def feedback_section(mode, runs):
    times = feedback_timing(mode, runs)
    med = statistics.median
    inventory = ROOT / INVENTORIES[mode]
    service = yaml.safe_load((inventory / "group_vars/all.yml").read_text())["lbstack_virtual_services"][0]
    interval = service.get("feedback_interval", 2)
    engine = "HAProxy agent-check" if mode == "l7_snat" else "keepalived MISC_CHECK misc_dynamic (HTTP method)"
    lines = [
        "Written by `make bench MODE=%s ONLY=feedback` on %s, on the lab: %s, `feedback_interval` %d s, the "
        "agent sampling every 0.5 s (`feedback_agent_interval`). A CPU load (70 %% of rabbit3's one CPU) is started, then ended; the "
        "time runs from the command on rabbit3 to lb1's weight for rabbit3 (configured 100) reaching <= 40, "
        "then >= 90, read on lb1 every 50 ms. Medians of %d runs."
        % (mode, datetime.date.today().isoformat(), engine, interval, runs),
        "",
        "| figure | result | target |",
        "|---|---|---|",
        "| load started to the new weight | median %.2f s (runs: %s) | <= 3 s |"
        % (med(times["load"]), ", ".join("%.2f" % t for t in times["load"])),
        "| load ended to the weight back | median %.2f s (runs: %s) | <= 3 s |"
        % (med(times["unload"]), ", ".join("%.2f" % t for t in times["unload"])),
        "",
    ]
    write_section("## %s, %s, %s" % (MODES["feedback"], MODES[mode], lab_platform()), lines)


def playbook(mode, name, *extra):
    start = time.monotonic()
    run([PLAYBOOK, "-i", INVENTORIES[mode], "playbooks/%s.yml" % name] + list(extra), cwd=ROOT)
    return round(time.monotonic() - start, 1)


BROKERS = {"rabbit1": "198.18.0.21", "rabbit2": "198.18.0.22", "rabbit3": "198.18.0.23"}
STOP = "/tmp/lbstack-bench-probe.stop"


def probes(count, queue, consumer=False):
    """``count`` reconnecting publishers with confirms through the VIP (until STOP exists)."""
    extra = ["--consumer"] if consumer else []
    return [subprocess.Popen(CLIENT + ["probe", "--seconds", "900", "--interval", "0.05", "--stop-file", STOP,
                                       "--queue", "%s.%d" % (queue, i)] + extra + CREDS,
                             stdout=subprocess.PIPE, text=True) for i in range(count)]


def stop_probes(procs):
    Path(STOP).touch()
    reports = [json.loads(proc.communicate(timeout=120)[0]) for proc in procs]
    return reports


def client_connections(name):
    """Client connections of the lab user on broker ``name``: list_connections
    lists the whole cluster's, and the table form of each pid names its node
    (the JSON form does not)."""
    out = ssh(BROKERS[name], "rabbitmqctl -q list_connections --no-table-headers user pid", check=False)
    return sum(1 for line in out.splitlines()
               if line.split("\t")[0] == "lbstack" and "<rabbit@%s." % name in line)


def rolling_runs(mode, runs):
    out = []
    for _run in range(runs):
        procs = probes(1, "bench.rolling", consumer=True)
        time.sleep(3)
        seconds = playbook(mode, "rolling_restart")
        time.sleep(3)
        report = stop_probes(procs)[0]
        out.append({"seconds": seconds, "gap": report["longest_gap"], "lost": report["lost"],
                    "duplicates": report.get("duplicates", 0), "confirmed": report["confirmed"],
                    "reconnects": report["reconnects"] + report.get("consumer_reconnects", 0)})
    return out


def drain_runs(mode, runs, clients=12):
    out = []
    for _run in range(runs):
        procs = probes(clients, "bench.drain")
        time.sleep(5)
        counts = dict((name, client_connections(name)) for name in BROKERS)
        name = max(counts, key=counts.get)
        start = time.monotonic()
        balancers = playbook(mode, "drain", "-e", "server=" + name)
        maintenance = time.monotonic()
        ssh(BROKERS[name], "rabbitmq-upgrade drain >/dev/null")
        while client_connections(name) != 0 and time.monotonic() - start < 120:
            time.sleep(0.2)
        last = round(time.monotonic() - start, 1)
        after = round(time.monotonic() - maintenance, 1)
        ssh(BROKERS[name], "rabbitmq-upgrade revive >/dev/null")
        playbook(mode, "online", "-e", "server=" + name)
        reports = stop_probes(procs)
        out.append({"server": name, "clients": counts[name], "balancers": balancers, "last": last, "after": after,
                    "lost": sum(r["lost"] or 0 for r in reports)})
    return out


def day2_section(mode, runs):
    (wait_restored if mode == "l7_snat" else wait_restored_dr)()
    try:
        rolling = rolling_runs(mode, runs)
        drains = drain_runs(mode, runs)
    finally:
        Path(STOP).touch()  # no client left behind when a run fails
    med = statistics.median

    def figures(rows, key, fmt="%.1f"):
        return "median %s (runs: %s)" % (fmt % med(r[key] for r in rows), ", ".join(fmt % r[key] for r in rows))

    lines = [
        "Written by `make bench MODE=%s ONLY=day2` on %s, on the lab. Rolling restart: `rolling_restart.yml` "
        "(three brokers, one at a time) while a publisher with confirms (every 50 ms) and a consumer run "
        "through the VIP. Drain: 12 reconnecting publishers through the VIP; the broker with the most of "
        "them is drained on the balancers (`drain.yml`), then put in maintenance (`rabbitmq-upgrade drain`, "
        "which closes its client connections); the time runs from the start of `drain.yml` to its last "
        "client connection gone (`rabbitmqctl list_connections` over SSH, about once a second). Medians of %d runs."
        % (mode, datetime.date.today().isoformat(), runs),
        "",
        "| figure | result | target |",
        "|---|---|---|",
        "| rolling restart, total | %s s | |" % figures(rolling, "seconds"),
        "| rolling restart, longest publish gap (0: none above 0.2 s, 3 intervals) | %s s | |" % figures(rolling, "gap", "%.2f"),
        "| rolling restart, confirmed messages lost | %d of %d | 0 |"
        % (sum(r["lost"] or 0 for r in rolling), sum(r["confirmed"] for r in rolling)),
        "| rolling restart, duplicates delivered / client reconnects | %d / %d | |"
        % (sum(r["duplicates"] for r in rolling), sum(r["reconnects"] for r in rolling)),
        "| drain.yml on both balancers | %s s | |" % figures(drains, "balancers"),
        "| drain start to the last client connection gone | %s s (%s clients on the node) | |"
        % (figures(drains, "last"), ", ".join(str(r["clients"]) for r in drains)),
        "| maintenance mode to the last client connection gone | %s s | |"
        % figures(drains, "after"),
        "| confirmed messages lost while draining | %d | 0 |" % sum(r["lost"] for r in drains),
        "",
    ]
    write_section("## Day-2 operations, %s, %s" % (MODES[mode], lab_platform()), lines)


def section_order(title):
    """Modes in MODES order, and within one the newest platform first."""
    mode = next((i for i, name in enumerate(MODES.values()) if title.startswith("## " + name)), len(MODES))
    version = re.findall(r"(\d+)$", title)
    return (mode, -int(version[0]) if version else 0, title)


def write_section(title, lines):
    """Replace the section ``title`` of the results file, keep the others."""
    text = RESULTS.read_text() if RESULTS.exists() else ""
    sections = {}
    current = None
    for line in text.splitlines():
        if line.startswith("## "):
            current = line
            sections[current] = []
        elif current:
            sections[current].append(line)
    sections[title] = lines
    out = ["# Benchmark results", ""]
    sections = dict((k, "\n".join(v).strip("\n").split("\n") + [""]) for k, v in sections.items())
    for key in sorted(sections, key=section_order):
        out += [key, ""] + sections[key]
    body = "\n".join(out).rstrip("\n") + "\n"
    RESULTS.write_text(body)
    print(body)


def transitions(host):
    out = ssh(host, "journalctl -u keepalived --no-pager -o cat")
    return len(re.findall(r"Entering (MASTER|BACKUP|FAULT) STATE", out))


def idle(minutes):
    before = {h: transitions(h) for h in (LB1, LB2)}
    time.sleep(minutes * 60)
    return sum(transitions(h) - before[h] for h in (LB1, LB2))


# A CPU hog on a balancer, busy HOG_BUSY_MS in every HOG_PERIOD_MS: two on each
# balancer ask for one of the lab machine's two cores in all. Busy all the time
# they would take both: the balancers' containers get a far larger CPU share
# than the brokers' (lab/labctl.py), and the brokers, starved, answered no
# publisher (a 30-minute run published nothing).
HOG_BUSY_MS, HOG_PERIOD_MS = 5, 20
HOG_PROGRAM = ("import time\n"
               "while True:\n"
               "    end = time.monotonic() + %g\n"
               "    while time.monotonic() < end:\n"
               "        pass\n"
               "    time.sleep(%g)\n" % (HOG_BUSY_MS / 1000, (HOG_PERIOD_MS - HOG_BUSY_MS) / 1000))
HOG = "systemd-run --unit=lbstack-bench-hog%d --collect python3 -c " + shlex.quote(HOG_PROGRAM)


def publishers_until(deadline_seconds, count, queue):
    """``count`` publishers with confirms through the VIP, each publishing
    batches of 2000 as fast as the confirms come until the deadline. Returns the
    processes (each ends by itself)."""
    script = ("end=$(( $(date +%%s) + %d )); n=0; while [ $(date +%%s) -lt $end ]; do "
              "%s publish --count 2000 --queue %s.$1 --delete --host %s %s >/dev/null 2>&1 && n=$((n+2000)); done; echo $n"
              % (deadline_seconds, " ".join(CLIENT), queue, VIP, " ".join(CREDS)))
    return [subprocess.Popen(["bash", "-c", script, "load", str(i)], stdout=subprocess.PIPE, text=True)
            for i in range(count)]


class AdvertCapture:
    """The VRRP adverts crossing the lab's bridge, captured on this machine with
    tcpdump (the kernel's timestamps): how long the master went without one is
    the margin left before the backup's master-down timer, which a count of
    transitions alone does not show."""

    def __init__(self):
        bridge = run(LABCTL + ["bridge"]).strip()
        # Into a file: a pipe read only at the end fills after a few hundred
        # lines, and tcpdump then blocks and the kernel drops the rest.
        self.out = tempfile.TemporaryFile(mode="w+")
        self.proc = subprocess.Popen(["tcpdump", "-i", bridge, "-n", "-tt", "ip proto 112"],
                                     stdout=self.out, stderr=subprocess.DEVNULL, text=True)

    def stop(self):
        """Per source address: (adverts seen, the gaps between them)."""
        self.proc.terminate()
        self.proc.wait()
        self.out.seek(0)
        return advert_gaps(self.out.read())


def advert_gaps(tcpdump_lines):
    """``tcpdump -tt -n`` lines of VRRP packets -> {source: (adverts, [gaps in s])}."""
    last, seen = {}, {}
    for line in tcpdump_lines.splitlines():
        fields = line.split()
        if len(fields) < 4 or fields[1] != "IP":
            continue
        stamp, source = float(fields[0]), fields[2]
        count, gaps = seen.setdefault(source, (0, []))
        if source in last:
            gaps.append(stamp - last[source])
        seen[source] = (count + 1, gaps)
        last[source] = stamp
    return seen


def spurious(minutes, load, lbs=(LB1, LB2)):
    """VRRP transitions on the pair in ``minutes``, idle or under load (four
    publishers with confirms through the VIP, and two CPU hogs on each balancer,
    each busy a quarter of the time).
    Returns (transitions, messages published, adverts per source as
    advert_gaps returns them)."""
    time.sleep(10)  # a start or a failover just before has settled
    before = {h: transitions(h) for h in lbs}
    capture = AdvertCapture()
    procs = []
    if load:
        for host in lbs:
            for core in range(2):
                ssh(host, HOG % core)
        procs = publishers_until(int(minutes * 60), 4, "bench.load")
    time.sleep(minutes * 60)
    adverts = capture.stop()
    published = sum(int(p.communicate()[0].strip() or 0) for p in procs)
    if load:
        for host in lbs:
            ssh(host, "systemctl stop lbstack-bench-hog0 lbstack-bench-hog1", check=False)
    return sum(transitions(h) - before[h] for h in lbs), published, adverts


def advert_interval(mode):
    """The VRRP advert interval the lab of ``mode`` runs with (its inventory, else the role default)."""
    lab = yaml.safe_load((ROOT / INVENTORIES[mode] / "group_vars/load_balancers.yml").read_text()) or {}
    role = yaml.safe_load((ROOT / "roles/load_balancer/defaults/main.yml").read_text())
    return float(lab.get("load_balancer_vrrp_advert_interval", role["load_balancer_vrrp_advert_interval"]))


def master_down(interval):
    """When the backup (the role's priority 100) takes over: 3 missed adverts plus its skew."""
    return 3 * interval + (256 - 100) / 256.0 * interval


def percentile(values, share):
    """The ``share`` (0-1) quantile of ``values``, linearly interpolated."""
    ordered = sorted(values)
    position = (len(ordered) - 1) * share
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


# Seen with tcpdump on the Layer 7 lab (docs/failover.md): the VIP moves as fast
# in the slow runs; the client is what waits.
KEEPALIVE_GAP = (" A gap near 1 s is a client that had nothing unacknowledged in flight when the master died "
                 "(between the broker's TCP acknowledgement and its confirm): it learns of the dead path from "
                 "its 1 s TCP keepalive, not from a retransmission (docs/failover.md).")


def failover_section(mode, runs):
    """Client gap when the master dies (taken off the network, then killed, as in
    a power loss) and when keepalived stops on it: median, p99 and highest."""
    restored = wait_restored if mode == "l7_snat" else wait_restored_dr
    hard = failover("hard", runs, restored)
    graceful = failover("graceful", runs, restored)

    def row(gaps):
        return "median %.3f s, p99 %.3f s, highest %.3f s (%d runs: %s)" % (
            statistics.median(gaps), percentile(gaps, 0.99), max(gaps), len(gaps), ", ".join("%.3f" % g for g in gaps))

    interval = advert_interval(mode)
    detection = master_down(interval)
    lines = [
        "Written by `make bench MODE=%s ONLY=failover` on %s, on the lab: VRRP adverts every %g s (the backup "
        "takes over after 3 missed adverts plus its skew, about %.2f s). A client publishes with confirms every "
        "20 ms through the VIP; the gap is the longest time between two confirmed publishes. A hard failure "
        "takes the master off the network and then kills it (`labctl.py kill`), as a power loss does; a "
        "graceful one stops keepalived on it.%s"
        % (mode, datetime.date.today().isoformat(), interval, detection, KEEPALIVE_GAP if mode == "l7_snat" else ""),
        "",
        "| figure | result | target |",
        "|---|---|---|",
        "| client gap, master host lost | %s | <= 0.4 s%s |" % (row(hard), "" if mode == "l7_snat" else " (L7 lab)"),
        "| client gap, keepalived stopped on the master | %s | |" % row(graceful),
        "",
    ]
    write_section("## VRRP failover, %s, %s" % (MODES[mode], lab_platform()), lines)


def spurious_section(mode, condition, minutes):
    (wait_restored if mode == "l7_snat" else wait_restored_dr)()
    lbs = (LB1, LB2)
    stalls_before = {h: stalls(h) for h in lbs}
    count, published, adverts = spurious(minutes, condition == "load", lbs)
    if condition == "load" and not published:
        # No traffic crossed the pair: not a run under load, whatever it counted.
        raise SystemExit("bench: the load's publishers published nothing through the VIP; no figures written")
    stalled = sum(stalls(h) - stalls_before[h] for h in lbs)
    interval = advert_interval(mode)
    # Only the master advertises.
    sender, (sent, gaps) = max(adverts.items(), key=lambda item: item[1][0])
    detection = master_down(interval)
    lines = [
        "Written by `make bench MODE=%s ONLY=spurious CONDITION=%s MINUTES=%g` on %s, on the lab: VRRP adverts "
        "every %g s. %s A stall is keepalived reporting that one of its timers ran late (`A thread timer "
        "expired`), that is its process was not scheduled in time. The gaps are between the master's adverts "
        "as they cross the lab's bridge (tcpdump on the lab machine, kernel timestamps): the margin left "
        "before the backup would take over."
        % (mode, condition, minutes, datetime.date.today().isoformat(), advert_interval(mode),
           "Load: four publishers with confirms through the VIP, as fast as the confirms come, and two CPU "
           "hogs on each balancer, each busy %d ms in every %d (one of the lab machine's two cores in all)."
           % (HOG_BUSY_MS, HOG_PERIOD_MS) if condition == "load" else "Idle: no traffic."),
        "",
        "| figure | result | target |",
        "|---|---|---|",
        "| VRRP transitions on the pair in %g min, %s | %d | 0 |" % (minutes, condition, count),
        "| keepalived stalls (timers run late) on the pair | %d | |" % stalled,
        "| adverts from the master (%s) seen on the lab bridge | %d | |" % (sender, sent),
        "| longest gap between its adverts (the backup takes over after %.2f s) | %.3f s | < %.2f s |"
        % (detection, max(gaps), detection),
        "| gaps above twice the advert interval | %d | |" % sum(1 for g in gaps if g > 2 * interval),
    ]
    if condition == "load":
        lines.append("| messages published with confirms through the VIP meanwhile | %d | |" % published)
    lines.append("")
    write_section("## VRRP spurious transitions, %s, %s, %s" % (condition, MODES[mode], lab_platform()), lines)


def stalls(host):
    out = ssh(host, "journalctl -u keepalived --no-pager -o cat")
    return len(re.findall(r"A thread timer expired", out))


def deploy():
    start = time.monotonic()
    out = run([PLAYBOOK, "site.yml"], cwd=ROOT)
    changed = sum(int(n) for n in re.findall(r"changed=(\d+)", out))
    return round(time.monotonic() - start, 1), changed


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--idle-minutes", type=float, default=10)
    parser.add_argument("--skip-cold", action="store_true")
    parser.add_argument("--mode", choices=sorted(set(MODES) - {"feedback"}), default="l7_snat")
    parser.add_argument("--only", choices=["feedback", "day2", "failover", "spurious", "sync"])
    parser.add_argument("--condition", choices=["idle", "load"], default="idle", help="with --only spurious")
    parser.add_argument("--minutes", type=float, default=30, help="with --only spurious")
    args = parser.parse_args()
    if args.only:
        if args.mode == "agent":
            raise SystemExit("bench: --only %s runs on a lab: --mode l7_snat or l4_dr" % args.only)
        if args.only == "spurious":
            spurious_section(args.mode, args.condition, args.minutes)
        elif args.only == "sync":
            if args.mode != "l4_dr":
                raise SystemExit("bench: --only sync is the Direct Routing pair's connection sync: --mode l4_dr")
            sync_section(args.runs)
        elif args.only == "failover":
            failover_section(args.mode, args.runs)
        else:
            (feedback_section if args.only == "feedback" else day2_section)(args.mode, args.runs)
        return
    if args.mode == "l4_dr":
        main_dr(args)
        return
    if args.mode == "agent":
        main_agent(args)
        return
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
    feedback_section("l7_snat", args.runs)
    day2_section("l7_snat", args.runs)


def write(f, args):
    med = statistics.median
    via, direct = f["throughput"]
    lines = [
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
    write_section(section_title("l7_snat"), lines)


if __name__ == "__main__":
    main()
