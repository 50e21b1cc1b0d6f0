from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy

import pytest

from ansible_collections.lbstack.rabbitmq.plugins.module_utils import model

INVENTORY = {
    "groups": {"rabbitmq": ["rabbit1", "rabbit2", "rabbit3"], "load_balancers": ["lb1", "lb2"]},
    "addresses": {"rabbit1": {"ip": "198.18.0.21"}, "rabbit2": {"ip": "198.18.0.22"},
                  "rabbit3": {"ip": "198.18.0.23"}},
    "load_balancers": {"lb1": ["198.18.0.11", "2001:db8:18::11"], "lb2": ["198.18.0.12", None]},
}
SERVICE = {"label": "RabbitMQ_HA", "vip": "198.18.0.100", "vip6": "2001:db8:18::100",
           "ports": [5672], "mode": "l7_snat", "real_servers_group": "rabbitmq"}


def normalize(*changes, **kwargs):
    services = [copy.deepcopy(SERVICE)]
    for change in changes:
        change(services)
    return model.normalize_services(services, INVENTORY, **kwargs)


def test_defaults_and_group_resolution():
    svc = normalize()[0]
    assert svc["scheduler"] == "wlc" and svc["health_check"] == "amqp"
    assert svc["proxy_timeout"] == model.DEFAULT_PROXY_TIMEOUT
    assert [rs["ip"] for rs in svc["real_servers"]] == ["198.18.0.21", "198.18.0.22", "198.18.0.23"]
    assert all(rs["weight"] == 100 and rs["port"] is None for rs in svc["real_servers"])
    assert "real_servers_group" not in svc


def test_explicit_real_servers():
    def explicit(services):
        del services[0]["real_servers_group"]
        services[0]["real_servers"] = [{"label": "Rabbit1", "ip": "198.18.0.40", "weight": 5}]
    svc = normalize(explicit)[0]
    assert svc["real_servers"] == [{"label": "Rabbit1", "ip": "198.18.0.40", "weight": 5,
                                    "min_conns": 0, "max_conns": 0, "port": None, "ip6": None,
                                    "host": None}]


def set_field(path, value):
    def change(services):
        target = services[0]
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
    return change


def rs_list(**fields):
    def change(services):
        del services[0]["real_servers_group"]
        rs = {"label": "r1", "ip": "198.18.0.40"}
        rs.update(fields)
        services[0]["real_servers"] = [rs]
    return change


@pytest.mark.parametrize("change, field, words", [
    (set_field(["vip"], "198.18.0.300"), "lbstack_virtual_services[0].vip", "not an IP"),
    (set_field(["vip"], "2001:db8::1"), "lbstack_virtual_services[0].vip", "not an IPv4"),
    (set_field(["vip6"], "198.18.0.9"), "lbstack_virtual_services[0].vip6", "not an IPv6"),
    (set_field(["vip"], "198.18.0.22"), "lbstack_virtual_services[0].vip", "real server 'rabbit2'"),
    (set_field(["vip"], "198.18.0.11"), "lbstack_virtual_services[0].vip", "load balancer 'lb1'"),
    (set_field(["vip6"], "2001:db8:18:0::11"), "lbstack_virtual_services[0].vip6", "load balancer"),
    (set_field(["mode"], "l4_nat"), "lbstack_virtual_services[0].mode", "not one of"),
    (set_field(["scheduler"], "fastest"), "lbstack_virtual_services[0].scheduler", "not one of"),
    (set_field(["health_check"], "http"), "lbstack_virtual_services[0].health_check", "not one of"),
    (set_field(["ports"], []), "lbstack_virtual_services[0].ports", "non-empty"),
    (set_field(["ports"], [5672, 70000]), "lbstack_virtual_services[0].ports[1]", "outside"),
    (set_field(["ports"], [5672, 5672]), "lbstack_virtual_services[0].ports", "duplicate port"),
    (set_field(["label"], "bad label!"), "lbstack_virtual_services[0].label", "must be"),
    (set_field(["proxy_timeout"], 60), "lbstack_virtual_services[0].proxy_timeout", "twice the AMQP heartbeat"),
    (set_field(["proxy_protocol"], "yes"), "lbstack_virtual_services[0].proxy_protocol", "not a boolean"),
    (set_field(["real_servers_group"], "nope"), "lbstack_virtual_services[0].real_servers_group", "not an inventory group"),
    (set_field(["feedback"], "http"), "lbstack_virtual_services[0].feedback", "Layer 4 only"),
    (set_field(["colour"], "blue"), "lbstack_virtual_services[0]", "unknown field"),
    (rs_list(weight=257), "lbstack_virtual_services[0].real_servers[0].weight", "outside 0..256"),
    (rs_list(weight="heavy"), "lbstack_virtual_services[0].real_servers[0].weight", "whole number"),
    (rs_list(ip="rabbit-one"), "lbstack_virtual_services[0].real_servers[0].ip", "not an IP"),
    (rs_list(min_conns=10, max_conns=5), "lbstack_virtual_services[0].real_servers[0].min_conns", "above max_conns"),
])
def test_bad_input_names_field_and_value(change, field, words):
    with pytest.raises(model.ModelError) as err:
        normalize(change)
    assert err.value.field == field
    assert str(err.value).startswith(field + ":")
    assert words in str(err.value)


def test_weight_range_follows_the_engine():
    svc = normalize(set_field(["mode"], "l4_dr"), set_field(["vip6"], None),
                    rs_list(weight=1000))[0]
    assert svc["real_servers"][0]["weight"] == 1000
    with pytest.raises(model.ModelError, match="outside 0..65535"):
        normalize(set_field(["mode"], "l4_dr"), rs_list(weight=70000))


def test_proxy_protocol_only_on_l7():
    with pytest.raises(model.ModelError) as err:
        normalize(set_field(["mode"], "l4_dr"), set_field(["proxy_protocol"], True))
    assert err.value.field.endswith(".proxy_protocol")
    assert normalize(set_field(["proxy_protocol"], True))[0]["proxy_protocol"] is True


def test_direct_routing_cannot_translate_ports():
    dr = set_field(["mode"], "l4_dr")
    v4 = set_field(["vip6"], None)
    with pytest.raises(model.ModelError, match="cannot translate ports") as err:
        normalize(dr, v4, rs_list(port=5673))
    assert err.value.field == "lbstack_virtual_services[0].real_servers[0].port"
    assert normalize(dr, v4, rs_list(port=5672))[0]["real_servers"][0]["port"] == 5672


def test_direct_routing_ipv6_vip_needs_ipv6_real_servers():
    dr = set_field(["mode"], "l4_dr")
    with pytest.raises(model.ModelError, match="forwards an IPv6 VIP only") as err:
        normalize(dr, rs_list())
    assert err.value.field == "lbstack_virtual_services[0].real_servers[0].ip6"
    svc = normalize(dr, rs_list(ip6="2001:db8:18::40"))[0]
    assert svc["real_servers"][0]["ip6"] == "2001:db8:18::40"
    with pytest.raises(model.ModelError, match="not an IPv6"):
        normalize(dr, rs_list(ip6="198.18.0.40"))


@pytest.mark.parametrize("platform", ["aws", "azure"])
def test_direct_routing_refused_on_clouds_that_cannot_do_it(platform):
    with pytest.raises(model.ModelError, match="use l7_snat") as err:
        normalize(set_field(["mode"], "l4_dr"), set_field(["vip6"], None), platform=platform)
    assert err.value.field == "lbstack_virtual_services[0].mode"
    assert normalize(platform=platform)[0]["mode"] == "l7_snat"


def test_a_director_cannot_be_its_own_real_server():
    with pytest.raises(model.ModelError, match="also the director 'lb1'") as err:
        normalize(set_field(["mode"], "l4_dr"), set_field(["vip6"], None),
                  rs_list(ip="198.18.0.11"))
    assert err.value.field == "lbstack_virtual_services[0].real_servers"


def test_heartbeat_rule_uses_the_given_heartbeat():
    assert normalize(set_field(["proxy_timeout"], 61), heartbeat=30)
    with pytest.raises(model.ModelError, match=r"120s must be above twice the AMQP heartbeat \(60s\)"):
        normalize(set_field(["proxy_timeout"], 120), heartbeat=60)


def test_a_label_the_load_balancer_uses_itself_is_refused():
    with pytest.raises(model.ModelError, match="'lbstack_alive' is reserved") as err:
        model.normalize_services([dict(copy.deepcopy(SERVICE), label="lbstack_alive")], INVENTORY)
    assert err.value.field == "lbstack_virtual_services[0].label"


def test_duplicate_labels_and_endpoints():
    services = [copy.deepcopy(SERVICE), copy.deepcopy(SERVICE)]
    with pytest.raises(model.ModelError, match="duplicate label 'RabbitMQ_HA'"):
        model.normalize_services(services, INVENTORY)
    services[1]["label"] = "Other"
    with pytest.raises(model.ModelError) as err:
        model.normalize_services(services, INVENTORY)
    assert err.value.field == "lbstack_virtual_services[1].vip"
    assert "198.18.0.100:5672 is already used" in str(err.value)
    services[1]["ports"] = [5671]
    assert len(model.normalize_services(services, INVENTORY)) == 2


def test_a_service_needs_a_vip_and_real_servers():
    with pytest.raises(model.ModelError, match="needs vip and/or vip6"):
        normalize(set_field(["vip"], None), set_field(["vip6"], None))
    with pytest.raises(model.ModelError, match="not both"):
        normalize(set_field(["real_servers"], [{"label": "a", "ip": "198.18.0.40"}]))


def test_pair_must_agree():
    model.check_pair({"lb1": {"a": 1}, "lb2": {"a": 1}})
    model.check_pair({"lb1": {"a": 1}})
    with pytest.raises(model.ModelError) as err:
        model.check_pair({"lb1": {"load_balancer_vrrp_router_id": 51},
                          "lb2": {"load_balancer_vrrp_router_id": 52}})
    assert err.value.field == "load_balancer_vrrp_router_id"
    assert "lb1 has 51, lb2 has 52" in str(err.value)
    with pytest.raises(model.ModelError, match="3 hosts"):
        model.check_pair({"a": {}, "b": {}, "c": {}})


def test_services_for_real_server():
    services = normalize()
    assert model.services_for_real_server(services, "198.18.0.22") == services
    assert model.services_for_real_server(services, "198.18.0.99") == []


def test_persistence_is_direct_routing_only():
    dr = [set_field(["mode"], "l4_dr"), set_field(["vip6"], None)]
    assert normalize(*dr)[0]["persistence"] == 0
    assert normalize(*dr + [set_field(["persistence"], 600)])[0]["persistence"] == 600
    with pytest.raises(model.ModelError, match="l4_dr") as err:
        normalize(set_field(["persistence"], 600))
    assert err.value.field == "lbstack_virtual_services[0].persistence"
    with pytest.raises(model.ModelError, match="outside"):
        normalize(*dr + [set_field(["persistence"], -1)])


def test_director_needs_an_interface_in_the_real_servers_subnet():
    svc = normalize(set_field(["mode"], "l4_dr"), rs_list(ip6="2001:db8:18::40"))
    model.check_director_networks(svc, "lb1", ["198.18.0.0/24", "2001:db8:18::/64"])
    with pytest.raises(model.ModelError, match="in no subnet of director 'lb1'") as err:
        model.check_director_networks(svc, "lb1", ["198.18.1.0/24", "2001:db8:18::/64"])
    assert err.value.field == "lbstack_virtual_services[0].real_servers[0].ip"
    with pytest.raises(model.ModelError) as err:
        model.check_director_networks(svc, "lb1", ["198.18.0.0/24"])
    assert err.value.field == "lbstack_virtual_services[0].real_servers[0].ip6"
    # Layer 7 services are proxied: no layer 2 requirement
    model.check_director_networks(normalize(), "lb1", [])


FACTS = {
    "interfaces": ["lo", "eth0"],
    "default_ipv4": {"address": "198.18.0.11", "interface": "eth0"},
    "lo": {"ipv4": {"address": "127.0.0.1", "netmask": "255.0.0.0"},
           "ipv6": [{"address": "::1", "prefix": "128", "scope": "host"}]},
    "eth0": {"ipv4": {"address": "198.18.0.11", "netmask": "255.255.255.0"},
             "ipv4_secondaries": [{"address": "198.18.0.100", "netmask": "255.255.255.255"}],
             "ipv6": [{"address": "2001:db8:18::11", "prefix": "64", "scope": "global"},
                      {"address": "fe80::1", "prefix": "64", "scope": "link"}]},
}


def test_interface_networks_from_facts():
    assert model.interface_networks(FACTS) == ["127.0.0.0/8", "198.18.0.0/24", "198.18.0.100/32",
                                               "2001:db8:18::/64", "::1/128"]


def test_engine_follows_the_mode_and_a_contradiction_is_refused():
    assert normalize()[0]["engine"] == "haproxy"
    assert normalize(set_field(["mode"], "l4_dr"), set_field(["vip6"], None))[0]["engine"] == "keepalived"
    # a normalized service goes through again unchanged (the module receives it so)
    again = model.normalize_service(0, normalize()[0], {})
    assert again == normalize()[0]
    with pytest.raises(model.ModelError) as err:
        normalize(set_field(["engine"], "keepalived"))
    assert err.value.field == "lbstack_virtual_services[0].engine"


def test_feedback_on_both_modes():
    svc = normalize(set_field(["mode"], "l4_dr"), set_field(["vip6"], None), set_field(["feedback"], "http"))[0]
    assert (svc["feedback"], svc["feedback_port"], svc["feedback_interval"]) == ("http", 3333, 2)
    assert normalize(set_field(["feedback"], "agent"))[0]["feedback"] == "agent"


@pytest.mark.parametrize("port", [5672, 15692, 4369])
def test_feedback_port_cannot_be_a_served_or_rabbitmq_port(port):
    with pytest.raises(model.ModelError, match="its own") as err:
        normalize(set_field(["feedback"], "agent"), set_field(["feedback_port"], port))
    assert err.value.field == "lbstack_virtual_services[0].feedback_port"
    # without feedback the port is not used
    normalize(set_field(["feedback_port"], port))


def test_dynamic_weights_scale_above_the_ceiling():
    def weights(*values):
        def change(services):
            del services[0]["real_servers_group"]
            services[0]["real_servers"] = [{"label": "r%d" % i, "ip": "198.18.0.%d" % (40 + i), "weight": w}
                                           for i, w in enumerate(values)]
        return change
    dr = [set_field(["mode"], "l4_dr"), set_field(["vip6"], None)]
    assert model.dynamic_weights(normalize(weights(100, 253, 0), *dr)[0]) == {"r0": 100, "r1": 253, "r2": 0}
    scaled = model.dynamic_weights(normalize(weights(1000, 500, 1, 0), *dr)[0])
    assert scaled == {"r0": 253, "r1": 127, "r2": 1, "r3": 0}


def test_feedback_agents_one_per_host():
    second = dict(SERVICE, label="Other", vip="198.18.0.101", vip6=None, feedback="agent")
    services = model.normalize_services([dict(SERVICE, feedback="agent"), second], INVENTORY)
    agents = model.feedback_agents(services)
    assert sorted(agents) == ["rabbit1", "rabbit2", "rabbit3"]
    assert agents["rabbit1"] == {"method": "agent", "port": 3333, "service_port": 5672,
                                 "services": ["RabbitMQ_HA", "Other"]}
    assert model.feedback_agents(model.normalize_services([SERVICE], INVENTORY)) == {}
    second["feedback_port"] = 3334
    with pytest.raises(model.ModelError, match="runs one feedback agent") as err:
        model.feedback_agents(model.normalize_services([dict(SERVICE, feedback="agent"), second], INVENTORY))
    assert err.value.field == "lbstack_virtual_services[1].feedback_port"


def test_feedback_agents_on_listed_real_servers_that_are_brokers():
    svc = dict(SERVICE, feedback="agent",
               real_servers=[{"label": "rabbit1", "ip": "198.18.0.21"}, {"label": "elsewhere", "ip": "198.18.0.50"}])
    del svc["real_servers_group"]
    services = model.normalize_services([svc], INVENTORY)
    assert sorted(model.feedback_agents(services, brokers=["rabbit1", "rabbit2"])) == ["rabbit1"]


def test_min_conns_needs_max_conns():
    with pytest.raises(model.ModelError, match="needs max_conns") as err:
        normalize(rs_list(min_conns=10))
    assert err.value.field == "lbstack_virtual_services[0].real_servers[0].min_conns"
    assert normalize(rs_list(min_conns=10, max_conns=20))[0]["real_servers"][0]["min_conns"] == 10


def test_an_ipv6_vip_may_not_be_a_real_servers_ipv6_address():
    with pytest.raises(model.ModelError, match="also the IP of real server 'r1'") as err:
        normalize(rs_list(ip6="2001:db8:18::100"))
    assert err.value.field == "lbstack_virtual_services[0].vip6"


def with_brokers(**broker):
    inventory = dict(INVENTORY, brokers=dict((h, dict(broker)) for h in ("rabbit1", "rabbit2", "rabbit3")))
    return inventory


def test_real_servers_must_listen_where_the_service_sends():
    model.normalize_services([copy.deepcopy(SERVICE)], with_brokers(port=5672, proxy_protocol=False))
    with pytest.raises(model.ModelError, match="listens on rabbitmq_cluster_port 5673") as err:
        model.normalize_services([copy.deepcopy(SERVICE)], with_brokers(port=5673))
    assert err.value.field == "lbstack_virtual_services[0].ports"
    # an explicit real server port that matches the broker's is fine, another is not
    svc = copy.deepcopy(SERVICE)
    del svc["real_servers_group"]
    svc["real_servers"] = [{"label": "rabbit1", "ip": "198.18.0.21", "port": 5673}]
    model.normalize_services([svc], with_brokers(port=5673))
    with pytest.raises(model.ModelError) as err:
        model.normalize_services([svc], with_brokers(port=5672))
    assert err.value.field == "lbstack_virtual_services[0].real_servers[0].port"


@pytest.mark.parametrize("service_pp,broker_pp,words", [
    (True, False, "read the PROXY header as AMQP"),
    (False, True, "refuse every client connection"),
])
def test_proxy_protocol_must_match_the_brokers(service_pp, broker_pp, words):
    svc = dict(copy.deepcopy(SERVICE), proxy_protocol=service_pp)
    with pytest.raises(model.ModelError, match=words) as err:
        model.normalize_services([svc], with_brokers(proxy_protocol=broker_pp))
    assert err.value.field == "lbstack_virtual_services[0].proxy_protocol"
    model.normalize_services([svc], with_brokers(proxy_protocol=service_pp))


def test_host_addresses_never_take_a_name_for_an_address():
    assert model.host_addresses("lb1", {"lbstack_ip": "198.18.1.5"}, FACTS) == {"ip": "198.18.1.5", "ip6": None}
    # the default route's address, not ansible_host (a management address here)
    assert model.host_addresses("lb1", {"ansible_host": "192.0.2.7"}, FACTS)["ip"] == "198.18.0.11"
    # no facts: ansible_host only when it is an IPv4 address
    assert model.host_addresses("lb1", {"ansible_host": "198.18.0.12", "lbstack_ipv6": "2001:db8::1"}, {}) == \
        {"ip": "198.18.0.12", "ip6": "2001:db8::1"}
    with pytest.raises(model.ModelError, match="host 'lb1': no service network address: set lbstack_ip") as err:
        model.host_addresses("lb1", {"ansible_host": "lb1.example.org"}, {})
    assert err.value.field == "lbstack_ip"
    with pytest.raises(model.ModelError, match="not an IPv6 address") as err:
        model.host_addresses("lb1", {"lbstack_ipv6": "198.18.0.1"}, FACTS)
    assert err.value.field == "lbstack_ipv6"
    with pytest.raises(model.ModelError, match="renamed to lbstack_ip"):
        model.host_addresses("lb1", {"lbstack_rip": "198.18.0.1"}, FACTS)


@pytest.mark.parametrize("facts,field,words", [
    ({"distribution": "Ubuntu", "distribution_major_version": "22", "distribution_version": "22.04",
      "service_mgr": "systemd"}, "ansible_facts.distribution", "runs Ubuntu 22.04; supported: Debian 12 or 13$"),
    ({"distribution": "Debian", "distribution_major_version": "12", "service_mgr": "sysvinit"},
     "ansible_facts.service_mgr", "runs sysvinit as init; supported: systemd"),
])
def test_unsupported_platforms_are_refused(facts, field, words):
    with pytest.raises(model.ModelError, match=words) as err:
        model.check_platform("mq-1", facts)
    assert err.value.field == field
    model.check_platform("mq-1", {"distribution": "Debian", "distribution_major_version": "12",
                                  "service_mgr": "systemd"})


def test_a_tls_port_is_checked_with_tls_and_served_alone():
    tls = with_brokers(port=5672, tls_port=5671)
    svc = dict(copy.deepcopy(SERVICE), ports=[5671], health_check="amqps")
    assert model.normalize_services([svc], tls)[0]["health_check"] == "amqps"
    # a broker without TLS does not listen there
    with pytest.raises(model.ModelError, match="listens on rabbitmq_cluster_port 5672 only") as err:
        model.normalize_services([svc], with_brokers(port=5672, tls_port=None))
    assert err.value.field == "lbstack_virtual_services[0].ports"
    # the plain check on the TLS port, and the TLS check on the plain port
    with pytest.raises(model.ModelError, match="takes TLS on port 5671; use amqps") as err:
        model.normalize_services([dict(svc, health_check="amqp")], tls)
    assert err.value.field == "lbstack_virtual_services[0].health_check"
    with pytest.raises(model.ModelError, match="takes plain AMQP on port 5672") as err:
        model.normalize_services([dict(svc, ports=[5672])], tls)
    assert err.value.field == "lbstack_virtual_services[0].health_check"
    # both ports in one service cannot be checked alike; a TCP check can
    with pytest.raises(model.ModelError, match="need a virtual service each") as err:
        model.normalize_services([dict(svc, ports=[5672, 5671])], tls)
    assert err.value.field == "lbstack_virtual_services[0].ports"
    model.normalize_services([dict(svc, ports=[5672, 5671], health_check="tcp")], tls)
