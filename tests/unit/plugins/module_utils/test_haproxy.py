from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import re

import pytest

from ansible_collections.lbstack.rabbitmq.plugins.module_utils import haproxy, model

RAW = {"label": "RabbitMQ_HA", "vip": "198.18.0.100", "vip6": "2001:db8:18::100",
       "ports": [5672], "mode": "l7_snat",
       "real_servers": [{"label": "rabbit1", "ip": "198.18.0.21"},
                        {"label": "rabbit2", "ip": "198.18.0.22", "weight": 50,
                         "max_conns": 200, "min_conns": 10, "port": 5673}]}


def render(**changes):
    raw = copy.deepcopy(RAW)
    raw.update(changes)
    return haproxy.render_service(model.normalize_service(0, raw, {}))


def test_frontend_binds_both_vips_in_tcp_mode():
    text = render()
    assert "frontend RabbitMQ_HA\n    mode tcp\n" in text
    assert "    bind 198.18.0.100:5672 transparent\n" in text
    assert "    bind [2001:db8:18::100]:5672 v6only transparent\n" in text
    assert "option clitcpka" in text and "option srvtcpka" in text
    assert "timeout client 180s" in text and "timeout server 180s" in text


def test_amqp_health_check_sends_the_protocol_header():
    text = render()
    assert "tcp-check send-binary 414d515000000901" in text
    pattern = re.search(r"tcp-check expect rbinary (\S+)", text).group(1)
    # A real Connection.Start frame from RabbitMQ 3.10, as HAProxy hex-dumps it.
    frame = "0100000000019C000A000A0009000001770C6361706162696C6974696573"
    assert re.match(pattern, frame)
    assert not re.match(pattern, "485454502F312E31")  # an HTTP answer


def test_servers_carry_weight_limits_and_ports():
    text = render()
    assert "    server rabbit1 198.18.0.21 weight 100 check port 5672\n" in text
    assert "    server rabbit2 198.18.0.22:5673 weight 50 check maxconn 200 minconn 10\n" in text


def test_an_operators_admin_state_is_rendered():
    svc = model.normalize_service(0, copy.deepcopy(RAW), {})
    text = haproxy.render_service(svc, {"rabbit1": {"state": "halted", "weight": None},
                                        "rabbit2": {"state": "drained", "weight": 20}})
    assert "    server rabbit1 198.18.0.21 weight 100 disabled check port 5672\n" in text
    assert "    server rabbit2 198.18.0.22:5673 weight 0 check maxconn 200" in text
    text = haproxy.render_service(svc, {"rabbit2": {"state": "online", "weight": 20}})
    assert "    server rabbit2 198.18.0.22:5673 weight 20 check" in text
    assert haproxy.render_service(svc, {}) == haproxy.render_service(svc)


@pytest.mark.parametrize("scheduler, balance", [("wlc", "leastconn"), ("rr", "roundrobin"),
                                                ("sh", "source")])
def test_scheduler_maps_to_balance(scheduler, balance):
    assert "    balance %s\n" % balance in render(scheduler=scheduler)


def test_options_agent_proxy_protocol_and_no_check():
    text = render(feedback="agent", proxy_protocol=True, health_check="none")
    assert "agent-check agent-port 3333 agent-inter 2s" in text
    assert "send-proxy-v2" in text and "check-send-proxy" not in text
    assert "option tcp-check" not in text
    assert all(" check" not in line for line in text.splitlines() if "server " in line)
    assert "send-proxy-v2 check-send-proxy" in render(proxy_protocol=True)


def test_rendering_is_deterministic():
    assert render() == render()


def test_refuses_layer_4():
    svc = model.normalize_service(0, dict(RAW, mode="l4_dr", vip6=None,
                                          real_servers=[{"label": "a", "ip": "198.18.0.21"}]), {})
    with pytest.raises(ValueError):
        haproxy.render_service(svc)


SHOW_PROC_OK = """#<PID>          <type>          <reloads>       <uptime>        <version>
610             master          3 [failed: 2]   0d00h05m11s     2.6.12-1+deb12u4
# workers
901             worker          0               0d00h00m02s     2.6.12-1+deb12u4
# old workers
612             worker          3               0d00h05m11s     2.6.12-1+deb12u4
# programs

"""

SHOW_PROC_FAILED = """#<PID>          <type>          <reloads>       <uptime>        <version>
610             master          2 [failed: 2]   0d00h01m21s     2.6.12-1+deb12u4
# workers
612             worker          2               0d00h01m21s     2.6.12-1+deb12u4
# programs

"""


def test_parse_show_proc():
    ok = haproxy.parse_show_proc(SHOW_PROC_OK)
    assert ok["master"] == {"pid": 610, "type": "master", "reloads": 3, "failed": 2}
    assert [w["pid"] for w in ok["workers"]] == [901]
    assert ok["workers"][0]["reloads"] == 0
    assert [w["pid"] for w in ok["old_workers"]] == [612]
    failed = haproxy.parse_show_proc(SHOW_PROC_FAILED)
    assert failed["workers"][0]["reloads"] == 2


SHOW_STAT = (
    "# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,"
    "wredis,status,weight,act,bck,chkfail,chkdown,lastchg,downtime,qlimit,pid,iid,sid,throttle,"
    "lbtot,tracked,type,rate,rate_lim,rate_max,check_status,check_code,check_duration,hrsp_1xx,"
    "addr,\n"
    "RabbitMQ_HA,FRONTEND,,,2,5,4000,40,1,2,0,,0,,,,,OPEN,,,,,,,,,1,2,0,,,,0,0,0,3,,,,,,\n"
    "RabbitMQ_HA,rabbit1,0,0,2,3,,20,1,2,,0,,0,0,0,0,UP,100,1,0,0,0,63,0,,1,3,1,,20,,2,0,,2,L7OK,0,1,,198.18.0.21:5672,\n"
    "RabbitMQ_HA,rabbit2,0,0,0,3,,20,1,2,,0,,0,0,0,0,DOWN,100,1,0,1,1,2,2,,1,3,2,,20,,2,0,,2,L7TOUT,,5001,,198.18.0.22:5672,\n"
    "RabbitMQ_HA,BACKEND,0,0,2,5,400,40,1,2,0,0,,0,0,0,0,UP,100,1,0,,0,63,0,,1,3,0,,40,,1,0,,3,,,,,,\n"
    # keepalived's liveness frontend: not a virtual service
    "lbstack_alive,FRONTEND,,,0,1,4000,9,0,0,0,,0,,,,,OPEN,,,,,,,,,1,4,0,,,,0,0,0,1,,,,,,\n"
)


def test_overview_from_show_stat():
    services = haproxy.overview(haproxy.parse_show_stat(SHOW_STAT))
    assert len(services) == 1
    svc = services[0]
    assert svc["label"] == "RabbitMQ_HA" and svc["status"] == "OPEN" and svc["conns"] == 2
    assert svc["real_servers"][0] == {"label": "rabbit1", "address": "198.18.0.21:5672",
                                      "health": "UP", "check": "L7OK", "weight": 100,
                                      "configured_weight": 100, "conns": 2, "total_conns": 20}
    assert svc["real_servers"][1]["health"] == "DOWN"
    assert svc["real_servers"][1]["check"] == "L7TOUT"


def test_parse_show_stat_without_header():
    assert haproxy.parse_show_stat("Unknown command\n") == []


FIXTURES = __import__("pathlib").Path(__file__).parent / "fixtures"


def test_overview_with_agent_from_haproxy_30():
    """Captured on the lab (HAProxy 3.0, agent-check on): the agent moved the
    weights to 99; show servers state keeps the configured 100."""
    rows = haproxy.parse_show_stat((FIXTURES / "haproxy-3.0-show-stat.csv").read_text())
    states = haproxy.parse_servers_state((FIXTURES / "haproxy-3.0-servers-state.txt").read_text())
    assert states[("RabbitMQ_HA", "rabbit1")] == {
        "iweight": 100, "uweight": 99, "admin_state": 0, "op_state": 2, "address": "198.18.0.21",
        "agent_address": "-", "agent_port": 3333}
    svc = haproxy.overview(rows, states, {("RabbitMQ_HA", "rabbit1"): "99%"})[0]
    rs = dict((r["label"], r) for r in svc["real_servers"])
    assert (rs["rabbit1"]["weight"], rs["rabbit1"]["configured_weight"], rs["rabbit1"]["agent"]) == (99, 100, "99%")
    assert rs["rabbit2"]["weight"] == 99 and rs["rabbit2"]["agent"] == ""
    # without the states the configured weight falls back to the current one
    assert haproxy.overview(rows)[0]["real_servers"][0]["configured_weight"] == 99
    assert haproxy.parse_servers_state("1\n") == {}


def test_overview_drained_and_halted_servers_weigh_nothing():
    # HAProxy 3.0 shows a drained server as "DRAIN (agent)" with the weight it will have back
    text = SHOW_STAT.replace(",UP,", ",DRAIN (agent),", 1)
    rs = haproxy.overview(haproxy.parse_show_stat(text))[0]["real_servers"][0]
    assert (rs["health"], rs["weight"]) == ("DRAIN (agent)", 0)


def test_overview_leaves_out_port_0_of_a_server_without_port():
    """HAProxy 3.0 on the lab: ``server rabbit1 198.18.0.21`` (no port) shows as
    ``198.18.0.21:0``; an IPv6 server as ``[addr]:0``."""
    services = haproxy.overview(haproxy.parse_show_stat((FIXTURES / "haproxy-3.0-show-stat.csv").read_text()))
    assert [rs["address"] for rs in services[0]["real_servers"]] == ["198.18.0.21", "198.18.0.22", "198.18.0.23"]
    assert haproxy._server_address("[2001:db8:18::21]:0") == "2001:db8:18::21"
    assert haproxy._server_address("198.18.0.21:5672") == "198.18.0.21:5672"
    assert haproxy._server_address(None) == ""


def test_amqps_health_check_runs_the_amqp_check_inside_tls():
    text = render(ports=[5671], health_check="amqps")
    assert "    tcp-check connect ssl\n    tcp-check send-binary 414d515000000901\n" in text
    assert "    bind 198.18.0.100:5671 transparent\n" in text
    for line in text.splitlines():
        if line.startswith("    server "):
            assert line.split(" check ", 1)[1].startswith(("port 5671 check-ssl verify none",
                                                           "check-ssl verify none"))
    assert "check-ssl" not in render() and "tcp-check connect\n" in render()
