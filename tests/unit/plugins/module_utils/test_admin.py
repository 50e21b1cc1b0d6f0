"""An operator's admin state files (module_utils/admin.py)."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest
from ansible_collections.lbstack.rabbitmq.plugins.module_utils import admin, model


@pytest.mark.parametrize("text,parsed", [
    ("", {"state": "online", "weight": None}),
    ("drained\n", {"state": "drained", "weight": None}),
    ("halted", {"state": "halted", "weight": None}),
    ("online 40\n", {"state": "online", "weight": 40}),
    ("drained 0", {"state": "drained", "weight": 0}),
])
def test_parse(text, parsed):
    assert admin.parse(text) == parsed


@pytest.mark.parametrize("text", ["paused", "online x", "online 1 2", "drained -1"])
def test_parse_refuses_what_the_checker_would_misread(text):
    with pytest.raises(admin.AdminError):
        admin.parse(text)


def test_render_round_trips_and_online_at_the_inventory_weight_keeps_no_file():
    assert admin.render("online") is None
    for state, weight in (("drained", None), ("halted", 5), ("online", 40)):
        assert admin.parse(admin.render(state, weight)) == {"state": state, "weight": weight}
    with pytest.raises(admin.AdminError):
        admin.render("maint")


def test_read_service_and_effective(tmp_path):
    (tmp_path / "SVC").mkdir()
    (tmp_path / "SVC" / "rabbit1").write_text("drained\n")
    (tmp_path / "SVC" / "rabbit2").write_text("online 30\n")
    (tmp_path / "SVC" / ".lbstack-tmp").write_text("halted\n")
    states = admin.read_service(str(tmp_path), "SVC")
    assert sorted(states) == ["rabbit1", "rabbit2"]
    assert admin.read_service(str(tmp_path), "OTHER") == {}
    svc = model.normalize_service(0, {"label": "SVC", "vip": "198.18.0.100", "ports": [5672], "mode": "l7_snat",
                                      "real_servers": [{"label": "rabbit1", "ip": "198.18.0.21"},
                                                       {"label": "rabbit2", "ip": "198.18.0.22"},
                                                       {"label": "rabbit3", "ip": "198.18.0.23", "weight": 7}]}, {})
    eff = admin.effective(svc, states)
    assert eff["rabbit1"] == {"state": "drained", "weight": 100, "weight_override": None}
    assert eff["rabbit2"] == {"state": "online", "weight": 30, "weight_override": 30}
    assert eff["rabbit3"] == {"state": "online", "weight": 7, "weight_override": None}


def test_services_store(tmp_path):
    svc = {"label": "A", "mode": "l7_snat", "real_servers": []}
    admin.write_atomic(str(tmp_path / "A.json"), admin.service_json(svc))
    assert admin.load_service(str(tmp_path), "A") == svc
    assert admin.load_service(str(tmp_path), "B") is None
    assert admin.load_services(str(tmp_path)) == [svc]
    admin.write_atomic(str(tmp_path / "A.json"), None)
    assert admin.load_services(str(tmp_path)) == []


def test_describe_adds_the_model_and_admin_states():
    svc = model.normalize_service(0, {"label": "SVC", "vip": "198.18.0.100", "ports": [5672], "mode": "l7_snat",
                                      "real_servers": [{"label": "r1", "ip": "198.18.0.21"},
                                                       {"label": "r2", "ip": "198.18.0.22"}]}, {})
    overview = [{"label": "SVC", "real_servers": [{"label": "r1"}, {"label": "r2"}]},
                {"label": "OTHER", "real_servers": [{"label": "x"}]}]
    admin.describe(overview, {"SVC": svc}, {"SVC": {"r1": {"state": "drained", "weight": 5}}})
    assert (overview[0]["mode"], overview[0]["vip"], overview[0]["ports"]) == ("l7_snat", "198.18.0.100", [5672])
    assert [(r["admin_state"], r["weight_override"]) for r in overview[0]["real_servers"]] == [
        ("drained", 5), ("online", None)]
    assert overview[0]["admin_state"] == "online"
    assert overview[1]["admin_state"] == "online" and "mode" not in overview[1]
    for states, whole in (({"r1": {"state": "halted", "weight": None}, "r2": {"state": "halted", "weight": None}},
                           "halted"),
                          ({"r1": {"state": "halted", "weight": None}, "r2": {"state": "drained", "weight": None}},
                           "drained")):
        view = [{"label": "SVC", "real_servers": [{"label": "r1"}, {"label": "r2"}]}]
        admin.describe(view, {"SVC": svc}, {"SVC": states})
        assert view[0]["admin_state"] == whole


def test_standby_hold(tmp_path):
    hold = tmp_path / "vrrp-standby"
    assert admin.standby_hold(str(hold)) is False
    for text, held in (("0\n", False), ("", False), ("1\n", True), ("2\n", None), ("x", None)):
        hold.write_text(text)
        assert admin.standby_hold(str(hold)) is held


@pytest.mark.parametrize("states, expected", [
    (["halted", "halted"], "halted"), (["drained"], "drained"), (["drained", "halted"], "drained"),
    (["online", "halted"], "online"), (["online"], "online"), ([], "online")])
def test_service_state(states, expected):
    assert admin.service_state(states) == expected
