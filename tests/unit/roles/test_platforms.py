"""The supported platforms are the same everywhere they are named: the model's
list (refused early by the preflight), each role's galaxy metadata, and the
per-platform variable files of the roles that have them."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

from pathlib import Path

import pytest
import yaml

from ansible_collections.lbstack.rabbitmq.plugins.module_utils import model

ROOT = Path(__file__).resolve().parents[3]
CODENAMES = {("Debian", "12"): "bookworm", ("Debian", "13"): "trixie"}
SUPPORTED = sorted((name, major) for name, majors in model.SUPPORTED_PLATFORMS.items() for major in majors)
# Roles for the Linux hosts; real_server_windows names the Windows releases the
# guide supports (Server 2012 and later), checked below.
WINDOWS_ROLES = ["real_server_windows"]
ROLES = sorted(p.name for p in (ROOT / "roles").iterdir()
               if (p / "meta" / "main.yml").exists() and p.name not in WINDOWS_ROLES)


def test_debian_13_is_supported_and_12_is_kept():
    assert SUPPORTED == [("Debian", "12"), ("Debian", "13")]


@pytest.mark.parametrize("role", ROLES)
def test_galaxy_metadata_names_the_supported_platforms(role):
    meta = yaml.safe_load((ROOT / "roles" / role / "meta" / "main.yml").read_text())
    named = sorted((entry["name"], version) for entry in meta["galaxy_info"]["platforms"]
                   for version in entry["versions"])
    assert named == sorted((name, CODENAMES[(name, major)]) for name, major in SUPPORTED)


@pytest.mark.parametrize("role", WINDOWS_ROLES)
def test_windows_roles_name_windows_server_2012_and_later(role):
    meta = yaml.safe_load((ROOT / "roles" / role / "meta" / "main.yml").read_text())
    assert [entry["name"] for entry in meta["galaxy_info"]["platforms"]] == ["Windows"]
    assert meta["galaxy_info"]["platforms"][0]["versions"][0] == "2012"


def test_rabbitmq_cluster_has_one_variable_file_per_platform_with_the_same_keys():
    files = sorted((ROOT / "roles" / "rabbitmq_cluster" / "vars").glob("*-*.yml"))
    assert [tuple(f.stem.split("-")) for f in files] == SUPPORTED
    keys = [sorted(yaml.safe_load(f.read_text())["__rabbitmq_cluster_platform"]) for f in files]
    assert all(k == keys[0] for k in keys), "every platform file sets the same keys"


def test_the_model_refuses_platforms_by_the_same_list():
    for name, major in SUPPORTED:
        model.check_platform("h", {"distribution": name, "distribution_major_version": major,
                                   "service_mgr": "systemd"})
    with pytest.raises(model.ModelError, match="supported: Debian 12 or 13"):
        model.check_platform("h", {"distribution": "Debian", "distribution_major_version": "11",
                                   "service_mgr": "systemd"})
