"""State of the converged lab: packages, services, files, kernel settings, cluster."""
import json

VIP, VIP6 = "198.18.0.100", "2001:db8:18::100"


def test_broker_service(broker):
    assert broker.package("rabbitmq-server").is_installed
    service = broker.service("rabbitmq-server")
    assert service.is_running and service.is_enabled
    assert broker.socket("tcp://0.0.0.0:5672").is_listening or \
        broker.socket("tcp://:::5672").is_listening


def failed_units(host):
    return host.check_output("systemctl list-units --state=failed --no-legend --plain")


def test_no_failed_units_on_the_brokers(broker):
    assert failed_units(broker) == ""


def test_no_failed_units_on_the_load_balancers(balancer):
    assert failed_units(balancer) == ""


def test_erlang_cookie_is_private(broker):
    cookie = broker.file("/var/lib/rabbitmq/.erlang.cookie")
    assert cookie.user == "rabbitmq" and cookie.mode == 0o400


def test_broker_config(broker):
    conf = broker.file("/etc/rabbitmq/rabbitmq.conf")
    assert conf.mode == 0o640
    assert conf.contains("^heartbeat = 30$")
    assert conf.contains("^cluster_partition_handling = pause_minority$")
    assert conf.contains("^cluster_formation.peer_discovery_backend = classic_config$")


def test_cluster_has_every_node(broker):
    out = broker.check_output("rabbitmqctl --formatter json --quiet cluster_status")
    status = json.loads(out)
    assert sorted(status["running_nodes"]) == ["rabbit@rabbit1", "rabbit@rabbit2", "rabbit@rabbit3"]


def rabbitmq_series(broker):
    return tuple(int(part) for part in broker.check_output("rabbitmqctl --quiet version").split(".")[:2])


def test_stable_feature_flags_are_enabled_and_khepri_is_not(broker):
    flags = json.loads(broker.check_output(
        "rabbitmqctl --formatter json --quiet list_feature_flags name state stability"))
    assert [f["name"] for f in flags if f["stability"] == "stable" and f["state"] != "enabled"] == []
    assert [f["state"] for f in flags if f["name"] == "khepri_db"] in ([], ["disabled"])


def test_durable_queues_default_to_quorum_where_rabbitmq_can(broker):
    conf = broker.file("/etc/rabbitmq/rabbitmq.conf")
    if rabbitmq_series(broker) >= (4, 0):
        assert conf.contains("^default_queue_type = quorum$")
        vhosts = broker.check_output("rabbitmqctl --quiet --no-table-headers list_vhosts name default_queue_type")
        assert vhosts.split() == ["/", "quorum"]
    else:
        # RabbitMQ 3.10 has no such setting: clients declare x-queue-type
        assert not conf.contains("default_queue_type")


def test_guest_is_gone(broker):
    users = broker.check_output("rabbitmqctl --formatter json --quiet list_users")
    names = [u["user"] for u in json.loads(users)]
    assert "guest" not in names and "lbstack" in names


def test_engines_run_and_start_at_boot(balancer):
    for name in ("haproxy", "keepalived"):
        service = balancer.service(name)
        assert service.is_running and service.is_enabled


def test_haproxy_config_is_valid(balancer):
    check = balancer.run_expect([0], "haproxy -c -f /etc/haproxy/haproxy.cfg -f /etc/haproxy/services.d")
    # the same rendering is clean on HAProxy 2.6 (Debian 12) and 3.0 (Debian 13)
    assert "[WARNING]" not in check.stdout + check.stderr and "[ALERT]" not in check.stdout + check.stderr
    fragment = balancer.file("/etc/haproxy/services.d/RabbitMQ_HA.cfg")
    assert fragment.contains("tcp-check send-binary 414d515000000901")
    assert fragment.contains("bind %s:5672" % VIP)
    assert fragment.contains(r"bind \[%s\]:5672" % VIP6)


def test_stats_socket_is_not_world_accessible(balancer):
    sock = balancer.file("/run/haproxy/admin.sock")
    assert sock.is_socket
    assert sock.mode & 0o007 == 0


def test_haproxy_is_master_worker(balancer):
    assert balancer.file("/run/haproxy-master.sock").is_socket
    master = balancer.check_output("ps -o args= -p $(cat /run/haproxy.pid)")
    assert master.startswith("/usr/sbin/haproxy -Ws ")


def test_nonlocal_bind(balancer):
    assert balancer.sysctl("net.ipv4.ip_nonlocal_bind") == 1
    assert balancer.sysctl("net.ipv6.ip_nonlocal_bind") == 1
    assert balancer.file("/etc/sysctl.d/60-lbstack-load-balancer.conf").contains(
        "net.ipv4.ip_nonlocal_bind=1")


def test_keepalived_config_check_is_silent(balancer):
    # keepalived 2.2.7 and 2.3.3 both accept the rendered configuration without a message
    check = balancer.run_expect([0], "keepalived -t -l -f /etc/keepalived/keepalived.conf")
    assert (check.stdout + check.stderr).strip() == ""


def test_keepalived_is_unicast_vrrp3(balancer):
    conf = balancer.file("/etc/keepalived/keepalived.conf")
    assert conf.contains("vrrp_version 3")
    assert conf.contains("unicast_peer")
    assert conf.contains("advert_int 0.05")
    assert conf.contains("check_unicast_src")
    assert conf.contains("vrrp_rt_priority 50") and conf.contains("vrrp_no_swap")


def test_exactly_one_balancer_holds_the_vips(balancers):
    holders = [name for name, host in balancers.items()
               if VIP in host.check_output("ip -o addr show")]
    assert holders == ["lb1"], holders
    holders6 = [name for name, host in balancers.items()
                if VIP6 in host.check_output("ip -o addr show")]
    assert holders6 == ["lb1"], holders6


# The feedback agent (the lab's service uses it).
def test_feedback_agent_runs_unprivileged_and_hardened(broker):
    service = broker.service("lbstack-feedback-agent")
    assert service.is_running and service.is_enabled
    show = dict(line.split("=", 1) for line in broker.check_output(
        "systemctl show lbstack-feedback-agent -p User -p NoNewPrivileges -p CapabilityBoundingSet"
        " -p MainPID").splitlines())
    assert show["User"] == "lbstack-agent" and show["NoNewPrivileges"] == "yes"
    assert show["CapabilityBoundingSet"] == ""
    status = broker.file("/proc/%s/status" % show["MainPID"]).content_string
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    # no privilege may be gained, and the process holds no capability at all
    assert fields["NoNewPrivs"].strip() == "1" and int(fields["CapEff"].strip(), 16) == 0
    assert int(fields["CapBnd"].strip(), 16) == 0


def test_feedback_agent_answers_in_its_grammar(broker):
    status = json.loads(broker.check_output("lbstack-feedback-agent status"))
    assert status["admin"] == "online" and status["broker"] == "running"
    reply = broker.check_output("python3 -c \"import socket; print(socket.create_connection(('127.0.0.1', 3333)).recv(64).decode())\"")
    words = reply.split()
    assert words[0].endswith("%") and 0 <= int(words[0][:-1]) <= 100 and words[1:] == ["up"]


def test_feedback_agent_settings_allow_the_balancers_only(broker):
    settings = json.loads(broker.file("/etc/lbstack-feedback-agent/agent.json").content_string)
    assert sorted(settings["allowed_sources"]) == sorted(["198.18.0.11", "198.18.0.12", "2001:db8:18::11",
                                                          "2001:db8:18::12"])
    assert settings["method"] == "agent" and settings["port"] == 3333 and settings["rabbitmq"]["enabled"]


def test_rabbitmq_prometheus_reports_no_alarm(broker):
    metrics = broker.check_output("python3 -c \"import urllib.request; print(urllib.request.urlopen("
                                  "'http://127.0.0.1:15692/metrics').read().decode())\"")
    alarms = [line for line in metrics.splitlines() if line.startswith("rabbitmq_alarms_")]
    assert alarms and all(line.endswith(" 0") for line in alarms)
