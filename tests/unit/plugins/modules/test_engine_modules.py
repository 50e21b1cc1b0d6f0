"""main() of virtual_service and engine_config on a fake host: a temporary
directory for the engine's files and a fake run_command / master CLI that
behave like HAProxy and keepalived do (a reload that takes effect, one that
fails at run time, a configuration the engine rejects)."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

import pytest
from ansible.module_utils import basic
from ansible.module_utils.testing import patch_module_args

from ansible_collections.lbstack.rabbitmq.plugins.module_utils import engine, keepalived, model
from ansible_collections.lbstack.rabbitmq.plugins.modules import engine_config, virtual_service

L7 = {"label": "RabbitMQ_HA", "vip": "198.18.0.100", "ports": [5672], "mode": "l7_snat",
      "real_servers": [{"label": "rabbit1", "ip": "198.18.0.21"}, {"label": "rabbit2", "ip": "198.18.0.22"}]}
DR = {"label": "RabbitMQ_DR", "vip": "198.18.0.101", "ports": [5672], "mode": "l4_dr", "health_check": "none",
      "real_servers": [{"label": "rabbit1", "ip": "198.18.0.21"}, {"label": "rabbit2", "ip": "198.18.0.22"}]}


class FakeHost(object):
    """The engine side of one load balancer."""

    def __init__(self, tmp, engine_name):
        self.root = str(tmp)
        self.engine = engine_name
        self.config = os.path.join(self.root, "main.cfg")
        self.fragments = os.path.join(self.root, "services.d")
        os.mkdir(self.fragments)
        main = "global\n" if engine_name == "haproxy" else "include %s/*.conf\n" % self.fragments
        with open(self.config, "w") as handle:
            handle.write(main)
        self.rejects = False        # the engine's own check refuses the configuration
        self.keepalived_version = "Keepalived v2.3.3 (03/30,2025)"
        self.test_output = ""        # what keepalived -t prints for an accepted configuration
        self.reload_fails = False   # the reload fails at run time (a port held by another process)
        self.reloads = 0
        self.workers = [{"pid": 100, "type": "worker", "reloads": 0, "failed": 0}]
        self.failed = 0
        self.ipvs = []               # what keepalived put in the kernel
        self.commands = []

    def args(self, **extra):
        args = dict(config_file=self.config, fragment_dir=self.fragments, confirm_timeout=1,
                    master_socket=os.path.join(self.root, "master.sock"))
        args.update(extra)
        return args

    def run_command(self, argv, *args, **kwargs):
        self.commands.append(list(argv))
        name = os.path.basename(argv[0])
        if name == "keepalived" and argv[1] == "--version":
            return 0, "", self.keepalived_version + "\n"
        if name in ("haproxy", "keepalived"):
            return (1, "", "[ALERT] parsing error") if self.rejects else (0, "", self.test_output)
        if name == "systemctl" and argv[1] == "is-active":
            return 0, "", ""
        if name == "systemctl" and argv[1] == "reload":
            self.reloads += 1
            if self.reload_fails:
                self.failed += 1
                self.workers = [dict(w, reloads=w["reloads"] + 1) for w in self.workers]
            else:
                self.workers = [{"pid": 100 + self.reloads, "type": "worker", "reloads": 0, "failed": 0}]
                self.ipvs = self.load_ipvs()
            return 0, "", ""
        if name == "ipvsadm":
            return 0, self.ipvs_text(), ""
        return 0, "", ""

    def load_ipvs(self):
        """keepalived puts every rendered virtual_server into the kernel."""
        table = []
        for fname in sorted(os.listdir(self.fragments)):
            with open(os.path.join(self.fragments, fname)) as handle:
                text = handle.read()
            for vip, port in sorted(keepalived.fragment_endpoints(text)):
                table.append((vip, port, text))
        return table

    def ipvs_text(self):
        lines = ["IP Virtual Server version 1.2.1 (size=4096)",
                 "Prot LocalAddress:Port Scheduler Flags",
                 "  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn"]
        for vip, port, text in self.ipvs:
            lines.append("TCP  %s:%d wlc" % (vip, port))
            for line in text.splitlines():
                words = line.split()
                if words[:1] == ["real_server"]:
                    lines.append("  -> %s:%s               Route   100    0          0" % (words[1], words[2]))
        return "\n".join(lines) + "\n"

    def processes(self, module):
        return {"master": {"pid": 1, "type": "master", "reloads": self.reloads, "failed": self.failed},
                "workers": list(self.workers), "old_workers": []}


@pytest.fixture
def host(tmp_path, monkeypatch):
    def make(engine_name):
        fake = FakeHost(tmp_path, engine_name)
        monkeypatch.setattr(basic.AnsibleModule, "run_command", lambda self, argv, *a, **k: fake.run_command(argv))
        monkeypatch.setattr(basic.AnsibleModule, "get_bin_path",
                            lambda self, name, *a, **k: "/usr/sbin/" + name)
        monkeypatch.setattr(engine, "haproxy_processes", fake.processes)
        monkeypatch.setattr(engine.time, "sleep", lambda seconds: None)
        return fake
    return make


def run(module, args, capsys):
    with patch_module_args(args):
        with pytest.raises(SystemExit):
            module.main()
    return json.loads(capsys.readouterr().out)


def fragment(fake, label):
    return os.path.join(fake.fragments, label + (".cfg" if fake.engine == "haproxy" else ".conf"))


def test_a_new_service_is_written_reloaded_and_confirmed(host, capsys):
    fake = host("haproxy")
    result = run(virtual_service, fake.args(label="RabbitMQ_HA", service=L7), capsys)
    assert result["changed"] and result["reloaded"] and not result.get("failed")
    assert "server rabbit2 198.18.0.22" in open(fragment(fake, "RabbitMQ_HA")).read()
    # the same again: nothing to do, no reload
    reloads = fake.reloads
    again = run(virtual_service, fake.args(label="RabbitMQ_HA", service=L7), capsys)
    assert not again["changed"] and fake.reloads == reloads


def test_a_configuration_the_engine_rejects_never_reaches_it(host, capsys):
    fake = host("haproxy")
    fake.rejects = True
    result = run(virtual_service, fake.args(label="RabbitMQ_HA", service=L7), capsys)
    assert result["failed"] and "rejects the configuration; nothing was changed" in result["msg"]
    assert not os.path.exists(fragment(fake, "RabbitMQ_HA")) and fake.reloads == 0


def test_a_reload_that_fails_at_run_time_is_rolled_back_and_retried_next_time(host, capsys):
    fake = host("haproxy")
    run(virtual_service, fake.args(label="RabbitMQ_HA", service=L7), capsys)
    before = open(fragment(fake, "RabbitMQ_HA")).read()
    fake.reload_fails = True
    heavier = dict(L7, real_servers=[dict(L7["real_servers"][0], weight=50), L7["real_servers"][1]])
    result = run(virtual_service, fake.args(label="RabbitMQ_HA", service=heavier), capsys)
    assert result["failed"] and "kept its previous worker" in result["msg"]
    assert result["rolled_back"] == [fragment(fake, "RabbitMQ_HA")]
    assert open(fragment(fake, "RabbitMQ_HA")).read() == before
    # the next run sees the difference again and, once the reload works, applies it
    fake.reload_fails = False
    result = run(virtual_service, fake.args(label="RabbitMQ_HA", service=heavier), capsys)
    assert result["changed"] and result["reloaded"] and "weight 50" in open(fragment(fake, "RabbitMQ_HA")).read()


def test_removing_a_service(host, capsys):
    fake = host("haproxy")
    run(virtual_service, fake.args(label="RabbitMQ_HA", service=L7), capsys)
    result = run(virtual_service, fake.args(label="RabbitMQ_HA", state="absent"), capsys)
    assert result["changed"] and result["reloaded"] and not os.path.exists(fragment(fake, "RabbitMQ_HA"))


def test_check_mode_validates_and_writes_nothing(host, capsys):
    fake = host("haproxy")
    result = run(virtual_service, fake.args(label="RabbitMQ_HA", service=L7, _ansible_check_mode=True,
                                            _ansible_diff=True), capsys)
    assert result["changed"] and "server rabbit1" in result["diff"]["after"]
    assert not os.path.exists(fragment(fake, "RabbitMQ_HA")) and fake.reloads == 0
    assert any(os.path.basename(c[0]) == "haproxy" for c in fake.commands)


def test_a_service_cannot_name_the_other_engine(host, capsys):
    fake = host("haproxy")
    result = run(virtual_service, fake.args(label="RabbitMQ_DR", service=DR, engine="haproxy"), capsys)
    assert result["failed"] and "'l4_dr' is served by keepalived, not by engine haproxy" in result["msg"]


def test_switching_a_service_to_the_other_engine(host, capsys):
    # the same label moves from HAProxy to IPVS: the new fragment is written for
    # keepalived, and the role's cleanup removes the HAProxy one (state absent)
    fake = host("keepalived")
    moved = dict(DR, label="RabbitMQ_HA")
    result = run(virtual_service, fake.args(label="RabbitMQ_HA", service=moved), capsys)
    assert result["engine"] == "keepalived" and result["reloaded"]
    assert os.path.exists(fragment(fake, "RabbitMQ_HA"))
    assert ("198.18.0.101", 5672) in set((v, p) for v, p, _t in fake.ipvs)


def test_keepalived_confirms_in_the_ipvs_table_and_rolls_back(host, capsys):
    fake = host("keepalived")
    result = run(virtual_service, fake.args(label="RabbitMQ_DR", service=DR), capsys)
    assert result["reloaded"] and not result.get("failed")
    before = open(fragment(fake, "RabbitMQ_DR")).read()
    # keepalived takes the reload but the kernel does not get the new real server
    fake.reload_fails = True
    bigger = dict(DR, real_servers=DR["real_servers"] + [{"label": "rabbit3", "ip": "198.18.0.23"}])
    result = run(virtual_service, fake.args(label="RabbitMQ_DR", service=bigger), capsys)
    assert result["failed"] and "198.18.0.23:5672 passes its check but is not in IPVS" in result["msg"]
    assert open(fragment(fake, "RabbitMQ_DR")).read() == before


def test_engine_config_takes_the_same_path(host, capsys):
    fake = host("haproxy")
    result = run(engine_config, fake.args(engine="haproxy", content="global\n    maxconn 100\n"), capsys)
    assert result["changed"] and result["reloaded"]
    fake.reload_fails = True
    result = run(engine_config, fake.args(engine="haproxy", content="global\n    maxconn 200\n"), capsys)
    assert result["failed"] and result["rolled_back"] == [fake.config]
    assert open(fake.config).read() == "global\n    maxconn 100\n"
    fake.rejects = True
    result = run(engine_config, fake.args(engine="haproxy", content="bad\n"), capsys)
    assert result["failed"] and open(fake.config).read() == "global\n    maxconn 100\n"


def test_engine_config_for_keepalived_confirms_the_services_already_written(host, capsys):
    fake = host("keepalived")
    run(virtual_service, fake.args(label="RabbitMQ_DR", service=DR), capsys)
    normalized = model.normalize_service(0, DR, {})
    content = "global_defs {\n}\ninclude %s/*.conf\n" % fake.fragments
    result = run(engine_config, fake.args(engine="keepalived", content=content, services=[normalized]), capsys)
    assert result["reloaded"] and not result.get("failed")
    # a main file without the include would drop every service: refused
    result = run(engine_config, fake.args(engine="keepalived", content="global_defs {\n}\n",
                                          services=[normalized]), capsys)
    assert result["failed"] and "does not include" in result["msg"]


@pytest.mark.parametrize("version, passes", [("Keepalived v2.3.3 (03/30,2025)", True),
                                             ("Keepalived v2.2.7 (01/16,2022)", False)])
def test_a_keepalived_warning_blocks_a_change_only_where_exit_codes_cannot_be_trusted(
        host, capsys, monkeypatch, version, passes):
    fake = host("keepalived")
    warned = []
    monkeypatch.setattr(basic.AnsibleModule, "warn", lambda self, text: warned.append(text))
    fake.keepalived_version = version
    fake.test_output = "(Line 12) WARNING - default user 'keepalived_script' for script execution does not exist\n"
    result = run(virtual_service, fake.args(label="RabbitMQ_DR", service=DR), capsys)
    assert bool(result.get("failed")) is not passes
    if passes:
        assert any("keepalived_script" in w for w in warned)
    else:
        assert "keepalived rejects the configuration" in result["msg"]
        assert not os.path.exists(fragment(fake, "RabbitMQ_DR"))


def test_every_mode_has_an_engine_with_its_files():
    assert set(model.ENGINE_BY_MODE.values()) == set(engine.ENGINES)
