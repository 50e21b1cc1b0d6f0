from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.lbstack.rabbitmq.plugins.module_utils import keepalived, model

CHECKER = "/usr/local/libexec/lbstack/amqp-check"
RAW = {"label": "RabbitMQ_DR", "vip": "198.18.0.101", "vip6": "2001:db8:18::101",
       "ports": [5672], "mode": "l4_dr",
       "real_servers": [{"label": "rabbit1", "ip": "198.18.0.21", "ip6": "2001:db8:18::21"},
                        {"label": "rabbit2", "ip": "198.18.0.22", "ip6": "2001:db8:18::22",
                         "weight": 1000, "max_conns": 500, "min_conns": 10}]}


def render(**changes):
    raw = dict(RAW)
    raw.update(changes)
    return keepalived.render_service(model.normalize_service(0, raw, {}), CHECKER)


def test_one_virtual_server_per_family_and_port():
    text = render(ports=[5672, 5671])
    for endpoint in ("198.18.0.101 5672", "198.18.0.101 5671",
                     "2001:db8:18::101 5672", "2001:db8:18::101 5671"):
        assert "virtual_server %s {" % endpoint in text
    assert text.count("lb_kind DR") == 4


def test_real_servers_weights_thresholds_and_amqp_check():
    text = render(real_servers=[dict(RAW["real_servers"][0]), dict(RAW["real_servers"][1], weight=200)])
    assert "    real_server 198.18.0.21 5672 {\n        weight 100\n        MISC_CHECK {" in text
    assert "    real_server 2001:db8:18::22 5672 {\n        weight 200\n" in text
    assert "uthreshold 500" in text and "lthreshold 10" in text
    # the checker and keepalived both give up after the service's connect_timeout
    assert 'misc_path "%s 198.18.0.21 5672 5"\n            misc_timeout 5\n' % CHECKER in text
    assert 'misc_path "%s 198.18.0.21 5672 3"' % CHECKER in render(connect_timeout=3)
    assert "lb_algo wlc" in text and "delay_loop 2" in text
    assert "persistence_timeout" not in text


def test_check_interval_and_persistence():
    text = render(check_interval=1, persistence=300)
    assert "delay_loop 1\n" in text and text.count("persistence_timeout 300") == 2


def test_tcp_and_no_check():
    assert "TCP_CHECK {\n            connect_port 5672\n            connect_timeout 5\n" in render(health_check="tcp")
    text = render(health_check="none")
    # only the checker of an operator's admin state (method none)
    assert "TCP_CHECK" not in text and "amqp" not in text
    assert text.count("MISC_CHECK {") == 4 and text.count("feedback-check none ") == 4


def test_an_operators_admin_state_sets_the_starting_weight_only():
    svc = model.normalize_service(0, dict(RAW, real_servers=[dict(r) for r in RAW["real_servers"]]), {})
    text = keepalived.render_service(svc, CHECKER, admin_states={
        "rabbit1": {"state": "drained", "weight": None}, "rabbit2": {"state": "halted", "weight": None}})
    # a starting keepalived gives them no new connection before their checker runs
    assert text.count("        weight 0\n") == 4
    # the checker still gets the configured weight, scaled (it reads the state file itself)
    assert text.count("feedback-check none 198.18.0.21 3333 25 RabbitMQ_DR rabbit1") == 1
    assert text.count("feedback-check none 198.18.0.22 3333 253 RabbitMQ_DR rabbit2") == 1
    text = keepalived.render_service(svc, CHECKER, admin_states={"rabbit2": {"state": "online", "weight": 500}})
    # an operator's weight, in keepalived's units (1000 is the top: 500 -> 127)
    assert "    real_server 198.18.0.22 5672 {\n        weight 127\n" in text
    assert keepalived.render_service(svc, CHECKER, admin_states={}) == keepalived.render_service(svc, CHECKER)


def test_refuses_layer_7():
    svc = dict(model.normalize_service(0, RAW, {}), mode="l7_snat")
    with pytest.raises(ValueError):
        keepalived.render_service(svc, CHECKER)


IPVSADM = """IP Virtual Server version 1.2.1 (size=4096)
Prot LocalAddress:Port Scheduler Flags
  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn
TCP  198.18.0.101:5672 wlc
  -> 198.18.0.21:5672             Route   100    3          1
  -> 198.18.0.22:5672             Route   0      0          7
TCP  [2001:db8:18::101]:5672 wlc persistent 300
  -> [2001:db8:18::21]:5672       Route   100    0          0
"""


def test_parse_ipvsadm():
    services = keepalived.parse_ipvsadm(IPVSADM)
    assert [(s["vip"], s["port"], s["scheduler"]) for s in services] == [
        ("198.18.0.101", 5672, "wlc"), ("2001:db8:18::101", 5672, "wlc")]
    assert services[1]["flags"] == "persistent 300"
    assert services[0]["real_servers"][0] == {"ip": "198.18.0.21", "port": 5672, "forward": "Route",
                                              "weight": 100, "active": 3, "inactive": 1}
    assert services[0]["real_servers"][1]["weight"] == 0
    assert services[1]["real_servers"][0]["ip"] == "2001:db8:18::21"


def test_parse_empty_table():
    assert keepalived.parse_ipvsadm("IP Virtual Server version 1.2.1 (size=4096)\n") == []


def test_fragment_endpoints_read_back_what_was_rendered():
    assert keepalived.fragment_endpoints(render(ports=[5672, 5671])) == {
        ("198.18.0.101", 5672), ("198.18.0.101", 5671),
        ("2001:db8:18::101", 5672), ("2001:db8:18::101", 5671)}
    assert keepalived.fragment_endpoints(None) == set()


def test_overview_marks_real_servers_missing_from_the_table_down():
    svc = model.normalize_service(0, dict(RAW, real_servers=RAW["real_servers"] + [
        {"label": "rabbit3", "ip": "198.18.0.23", "ip6": "2001:db8:18::23"}]), {})
    table = keepalived.parse_ipvsadm(IPVSADM)
    view = keepalived.overview([svc], table)[0]
    assert view["label"] == "RabbitMQ_DR" and view["status"] == "OPEN" and view["conns"] == 3
    rs = dict((r["label"], r) for r in view["real_servers"])
    assert rs["rabbit1"] == {"label": "rabbit1", "address": "198.18.0.21", "health": "UP", "check": "",
                             "weight": 100, "configured_weight": 100, "conns": 4, "active": 3,
                             "inactive": 1, "admin_state": "online", "weight_override": None}
    assert "agent" not in rs["rabbit1"]
    assert rs["rabbit2"]["health"] == "DOWN" and rs["rabbit2"]["check"] == "partly in IPVS"
    assert rs["rabbit3"]["health"] == "DOWN" and rs["rabbit3"]["check"] == "not in IPVS"
    assert keepalived.overview([svc], [])[0]["status"] == "DOWN"


TABLE = """IP Virtual Server version 1.2.1 (size=4096)
Prot LocalAddress:Port Scheduler Flags
  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn
TCP  198.18.0.100:5672 wlc persistent 600
  -> 198.18.0.21:5672             Route   100    3          0
  -> 198.18.0.22:5672             Route   50     2          0
"""


def dr_service(**changes):
    from ansible_collections.lbstack.rabbitmq.plugins.module_utils import model
    raw = {"label": "DR", "vip": "198.18.0.100", "mode": "l4_dr", "persistence": 600,
           "real_servers": [{"label": "r1", "ip": "198.18.0.21"}, {"label": "r2", "ip": "198.18.0.22", "weight": 50}]}
    raw.update(changes)
    return model.normalize_service(0, raw, {})


def test_table_as_rendered_has_no_problems():
    table = keepalived.parse_ipvsadm(TABLE)
    assert keepalived.table_problems([dr_service()], table, {("198.18.0.21", 5672), ("198.18.0.22", 5672)}) == []


@pytest.mark.parametrize("changes,healthy,absent,problem", [
    ({"scheduler": "rr"}, set(), (), "198.18.0.100:5672 schedules wlc, not rr"),
    ({"persistence": 0}, set(), (), "198.18.0.100:5672 persistence 600, not 0"),
    ({"real_servers": [{"label": "r1", "ip": "198.18.0.21", "weight": 7}, {"label": "r2", "ip": "198.18.0.22",
                                                                           "weight": 50}]},
     set(), (), "real server 198.18.0.21:5672 has weight 100, not 7"),
    ({"real_servers": [{"label": "r1", "ip": "198.18.0.21"}]}, set(), (),
     "real server 198.18.0.22:5672 is not rendered"),
    ({"real_servers": [{"label": "r1", "ip": "198.18.0.21"}, {"label": "r2", "ip": "198.18.0.22", "weight": 50},
                       {"label": "r3", "ip": "198.18.0.23"}]},
     {("198.18.0.23", 5672)}, (), "198.18.0.23:5672 passes its check but is not in IPVS"),
    ({"vip": "198.18.0.101"}, set(), (), "198.18.0.101:5672 is not in IPVS"),
    ({}, set(), [("198.18.0.100", 5672)], "198.18.0.100:5672 is still in IPVS"),
])
def test_table_problems_name_what_differs(changes, healthy, absent, problem):
    problems = keepalived.table_problems([dr_service(**changes)], keepalived.parse_ipvsadm(TABLE), healthy, absent)
    assert any(problem in p for p in problems), problems


def test_feedback_checker_with_dynamic_weights():
    text = render(feedback="agent", feedback_interval=3)
    # rabbit2's 1000 is above keepalived's dynamic ceiling: the service is scaled (100 -> 25, 1000 -> 253)
    assert "    real_server 198.18.0.21 5672 {\n        weight 25\n" in text
    assert "    real_server 2001:db8:18::22 5672 {\n        weight 253\n" in text
    assert ('misc_path "/usr/local/libexec/lbstack/feedback-check agent 198.18.0.21 3333 25 RabbitMQ_DR rabbit1"'
            in text)
    assert ('misc_path "/usr/local/libexec/lbstack/feedback-check agent 2001:db8:18::22 3333 253 RabbitMQ_DR'
            ' rabbit2"' in text)
    assert text.count("misc_dynamic") == 4 and text.count("delay_loop 3\n") == 4
    # both checkers: the AMQP one keeps deciding health
    assert text.count("MISC_CHECK {") == 8
    # without the agent, the same checker applies only an operator's admin state
    assert render().count("misc_dynamic") == 4 and "feedback-check none 198.18.0.21 3333 25 " in render()
    assert "/opt/fc http " in keepalived.render_service(
        model.normalize_service(0, dict(RAW, feedback="http"), {}), CHECKER, "/opt/fc")


def test_feedback_checker_timeout_follows_connect_timeout():
    def timeouts(text):
        # misc_timeout of each feedback checker (the MISC_CHECK that has misc_dynamic)
        blocks = text.split("MISC_CHECK {")[1:]
        return sorted(set(int(b.split("misc_timeout ")[1].split()[0]) for b in blocks if "misc_dynamic" in b))
    assert timeouts(render(feedback="agent")) == [5]
    # a longer health check: the feedback checker waits as long
    assert timeouts(render(feedback="agent", connect_timeout=10)) == [10]
    # a shorter one: still at least 5 s
    assert timeouts(render(feedback="agent", connect_timeout=2)) == [5]


def test_table_problems_leave_agent_driven_weights_alone():
    table = keepalived.parse_ipvsadm(TABLE.replace("Route   100", "Route   37"))
    assert keepalived.table_problems([dr_service(feedback="agent")], table, set()) == []
    assert keepalived.table_problems([dr_service()], table, set()) != []


def test_overview_shows_the_agents_last_reply(tmp_path):
    (tmp_path / "198.18.0.21-3333").write_text("37%\n")
    replies = keepalived.read_replies(str(tmp_path))
    assert replies == {"198.18.0.21-3333": "37%"}
    assert keepalived.read_replies(str(tmp_path / "missing")) == {}
    view = keepalived.overview([dr_service(feedback="agent")], keepalived.parse_ipvsadm(TABLE), replies)[0]
    rs = dict((r["label"], r) for r in view["real_servers"])
    assert rs["r1"]["agent"] == "37%" and rs["r2"]["agent"] == ""
    assert rs["r2"]["configured_weight"] == 50 and rs["r2"]["weight"] == 50


def test_a_real_server_whose_check_fails_may_be_missing():
    svc = dr_service(real_servers=[{"label": "r1", "ip": "198.18.0.21"}, {"label": "r2", "ip": "198.18.0.22",
                                                                          "weight": 50},
                                   {"label": "r3", "ip": "198.18.0.23"}])
    assert keepalived.table_problems([svc], keepalived.parse_ipvsadm(TABLE), set()) == []


# What keepalived -t printed on these machines (keepalived 2.3.3, Debian 13).
MISSING_INCLUDE = "(Line 1) Config files missing '/nonexistent/*.conf'.\n"
BAD_STATE = "(k.conf: Line 5) (A) unknown state 'BOGUS', defaulting to BACKUP\n"


@pytest.mark.parametrize("text, version", [
    ("Keepalived v2.3.3 (03/30,2025)\n\nCopyright(C) 2001-2025 Alexandre Cassen", (2, 3, 3)),
    ("Keepalived v2.2.7 (01/16,2022)", (2, 2, 7)),
    ("keepalived: command not found", None),
])
def test_parse_version(text, version):
    assert keepalived.parse_version(text) == version


@pytest.mark.parametrize("version, rc, output, rejected, warnings", [
    # 2.3.3: an error exits 5; a missing file only prints; a warning is passed on
    ((2, 3, 3), 5, BAD_STATE, True, []),
    ((2, 3, 3), 0, MISSING_INCLUDE, True, []),
    ((2, 3, 3), 0, "(Line 3) WARNING - script not secure\n", False, ["(Line 3) WARNING - script not secure"]),
    ((2, 3, 3), 0, "", False, []),
    # 2.2.7 exits 0 on errors: every message rejects
    ((2, 2, 7), 0, BAD_STATE, True, []),
    ((2, 2, 7), 0, "(Line 3) WARNING - script not secure\n", True, []),
    ((2, 2, 7), 0, "\n", False, []),
    # unknown version: the strict rule
    (None, 0, "anything\n", True, []),
])
def test_config_test_verdict(version, rc, output, rejected, warnings):
    assert keepalived.config_test_verdict(version, rc, output) == (rejected, warnings)


def test_table_problems_follow_an_operators_admin_state():
    healthy = {("198.18.0.21", 5672), ("198.18.0.22", 5672)}
    # r2 drained: weight 0 is right, 50 is not yet
    drained = {"DR": {"r2": {"state": "drained", "weight": None}}}
    table = keepalived.parse_ipvsadm(TABLE.replace("Route   50 ", "Route   0  "))
    assert keepalived.table_problems([dr_service()], table, healthy, admin_states=drained) == []
    problems = keepalived.table_problems([dr_service()], keepalived.parse_ipvsadm(TABLE), healthy,
                                         admin_states=drained)
    assert problems == ["198.18.0.100:5672 real server 198.18.0.22:5672 has weight 50, not 0"]
    # even with the agent driving the weights, drained means 0
    assert keepalived.table_problems([dr_service(feedback="agent")], keepalived.parse_ipvsadm(TABLE), healthy,
                                     admin_states=drained) == problems
    # r2 halted: out of the table although its check passes
    gone = keepalived.parse_ipvsadm("\n".join(line for line in TABLE.splitlines() if "0.22" not in line))
    assert keepalived.table_problems([dr_service()], gone, healthy) != []
    assert keepalived.table_problems([dr_service()], gone, healthy,
                                     admin_states={"DR": {"r2": {"state": "halted", "weight": None}}}) == []
    # an operator's weight replaces the inventory's
    override = {"DR": {"r1": {"state": "online", "weight": 100}, "r2": {"state": "online", "weight": 100}}}
    assert keepalived.table_problems([dr_service()], table, healthy, admin_states=override) == [
        "198.18.0.100:5672 real server 198.18.0.22:5672 has weight 0, not 100"]


def test_overview_reports_admin_state_and_operator_weight():
    table = keepalived.parse_ipvsadm(TABLE.replace("Route   50 ", "Route   0  "))
    view = keepalived.overview([dr_service()], table, {},
                               {"DR": {"r2": {"state": "drained", "weight": 20}}})[0]
    rs = dict((r["label"], r) for r in view["real_servers"])
    assert (rs["r1"]["admin_state"], rs["r1"]["weight_override"]) == ("online", None)
    assert (rs["r2"]["admin_state"], rs["r2"]["weight_override"], rs["r2"]["weight"]) == ("drained", 20, 0)


def test_amqps_health_check_asks_the_checker_for_tls():
    text = render(ports=[5671], health_check="amqps")
    assert 'misc_path "%s 198.18.0.21 5671 5 tls"' % CHECKER in text
    assert 'misc_path "%s 2001:db8:18::21 5671 5 tls"' % CHECKER in text
    assert " tls\"" not in render()
