# -*- coding: utf-8 -*-
# Copyright: (c) 2026, lbstack.rabbitmq contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One path for every configuration change of an engine (HAProxy, keepalived).

A change is a set of files (the main configuration file and/or per-service
fragments) with their new content, or ``None`` to remove one. :func:`apply`
validates the engine's whole configuration with the change in place, writes
the files atomically, reloads the engine gracefully and confirms that the new
generation is in force. When the confirmation fails, the previous files are
put back and the engine is reloaded again, and the task fails: a failure is
never left on disk to look "ok" on the next run.

Confirmation: HAProxy (master-worker) starts a new worker on each successful
reload, so a worker that did not exist before, current on the master CLI,
proves the new configuration loaded. keepalived: the kernel's IPVS table holds
every rendered virtual service with its settings and every real server whose
health check passes now (``keepalived.table_problems``).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import os
import shutil
import tempfile
import time

from ansible_collections.lbstack.rabbitmq.plugins.module_utils import admin, haproxy, keepalived

ENGINES = {
    "haproxy": {"config_file": "/etc/haproxy/haproxy.cfg", "fragment_dir": "/etc/haproxy/services.d",
                "unit": "haproxy.service", "suffix": ".cfg"},
    "keepalived": {"config_file": "/etc/keepalived/keepalived.conf",
                   "fragment_dir": "/etc/keepalived/services.d",
                   "unit": "keepalived.service", "suffix": ".conf"},
}

ENGINE_ARGS = dict(
    config_file=dict(type="path"),
    fragment_dir=dict(type="path"),
    reload=dict(type="bool", default=True),
    unit=dict(type="str"),
    master_socket=dict(type="path", default="/run/haproxy-master.sock"),
    amqp_checker=dict(type="path", default="/usr/local/libexec/lbstack/amqp-check"),
    confirm_timeout=dict(type="int", default=30),
    admin_dir=dict(type="path", default=admin.ADMIN_DIR),
    services_dir=dict(type="path", default=admin.SERVICES_DIR),
)


ENGINE_PATHS = ("config_file", "fragment_dir", "unit")


def fill_defaults(params, engine):
    for key in ENGINE_PATHS:
        if params.get(key) is None:
            params[key] = ENGINES[engine][key]


@contextlib.contextmanager
def for_engine(module, engine):
    """``module.params`` with ``engine``'s paths filled in, for a module that
    serves services of both engines in one run; restored afterwards."""
    saved = dict((key, module.params.get(key)) for key in ENGINE_PATHS)
    fill_defaults(module.params, engine)
    try:
        yield
    finally:
        module.params.update(saved)


def render_fragment(params, svc, admin_states):
    """The fragment of ``svc`` for its own engine, with an operator's admin
    states (``admin.read_service``): what site.yml and the day-2 modules write."""
    if svc["engine"] == "haproxy":
        return haproxy.render_service(svc, admin_states)
    return keepalived.render_service(svc, params["amqp_checker"], admin_states=admin_states)


def read_text(path):
    try:
        with open(path) as handle:
            return handle.read()
    except (IOError, OSError):
        return None


def put_files(module, files):
    """Write (or remove, for ``None``) each path atomically. A file that exists
    keeps its owner and mode (atomic_move); a new one is 0644."""
    for path, content in sorted(files.items()):
        admin.write_atomic(path, content, move=module.atomic_move)


def validate(module, engine, files):
    """Check the engine's whole configuration with ``files`` in place.

    Fails the module when the engine rejects it. Returns False (with a
    warning) when it cannot be checked yet: in check mode before the engine is
    installed."""
    params = module.params
    binary = module.get_bin_path(engine)
    main = files.get(params["config_file"], read_text(params["config_file"]))
    if binary is None or main is None:
        missing = "%s is not installed" % engine if binary is None else \
            "%s does not exist" % params["config_file"]
        if module.check_mode:
            module.warn("%s yet; the configuration was not validated" % missing)
            return False
        module.fail_json(msg="%s; cannot validate the configuration" % missing)
    workdir = tempfile.mkdtemp(prefix="lbstack-engine-")
    try:
        staged = os.path.join(workdir, "services.d")
        fragment_dir = params["fragment_dir"].rstrip("/")
        if os.path.isdir(fragment_dir):
            shutil.copytree(fragment_dir, staged)
        else:
            os.mkdir(staged)
        for path, content in files.items():
            if os.path.dirname(path) != fragment_dir:
                continue
            target = os.path.join(staged, os.path.basename(path))
            if content is None:
                if os.path.exists(target):
                    os.unlink(target)
            else:
                with open(target, "w") as handle:
                    handle.write(content)
        staged_main = os.path.join(workdir, os.path.basename(params["config_file"]))
        if engine == "haproxy":
            with open(staged_main, "w") as handle:
                handle.write(main)
            rc, out, err = module.run_command([binary, "-c", "-q", "-f", staged_main, "-f", staged])
            rejected = rc != 0
        else:
            # The main file includes the fragment directory; the staged copy
            # includes the staged one. Which messages of -t reject the change
            # depends on the version (keepalived.config_test_verdict).
            if fragment_dir + "/" not in main:
                module.fail_json(msg="%s does not include %s/: the services would not be loaded"
                                 % (params["config_file"], fragment_dir))
            with open(staged_main, "w") as handle:
                handle.write(main.replace(fragment_dir + "/", staged + "/"))
            _rc, vout, verr = module.run_command([binary, "--version"])
            rc, out, err = module.run_command([binary, "-t", "-l", "-f", staged_main])
            rejected, warnings = keepalived.config_test_verdict(
                keepalived.parse_version(vout + verr), rc, out + err)
            for line in warnings:
                module.warn("keepalived -t: %s" % line)
        if rejected:
            module.fail_json(msg="%s rejects the configuration; nothing was changed" % engine,
                             rc=rc, stdout=out, stderr=err)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return True


def unit_active(module):
    systemctl = module.get_bin_path("systemctl", required=True)
    return module.run_command([systemctl, "is-active", "--quiet", module.params["unit"]])[0] == 0


def systemctl_reload(module):
    systemctl = module.get_bin_path("systemctl", required=True)
    rc, out, err = module.run_command([systemctl, "reload", module.params["unit"]])
    return rc == 0, (out + err).strip()


def haproxy_processes(module):
    master = module.params["master_socket"]
    try:
        return haproxy.parse_show_proc(haproxy.socket_command(master, "show proc"))
    except (IOError, OSError):
        return None


def haproxy_confirm(module, before):
    """Wait for a current worker that was not there before the reload.
    Returns None when confirmed, else the reason."""
    old = set(w["pid"] for w in (before or {}).get("workers", []))
    failed = ((before or {}).get("master") or {}).get("failed", 0)
    deadline = time.time() + module.params["confirm_timeout"]
    procs = None
    while True:
        procs = haproxy_processes(module)
        if procs and any(w["reloads"] == 0 and w["pid"] not in old for w in procs["workers"]):
            return None
        # The master counts failed reloads: no need to wait for the deadline.
        if time.time() >= deadline or (procs and (procs.get("master") or {}).get("failed", 0) > failed):
            return ("HAProxy kept its previous worker: the new configuration failed to load at run"
                    " time (see journalctl -u %s); processes %r" % (module.params["unit"], procs))
        time.sleep(0.2)


def ipvs_table(module):
    ipvsadm = module.get_bin_path("ipvsadm")
    if ipvsadm is None:
        return None
    rc, out, err = module.run_command([ipvsadm, "-Ln", "--exact"])
    return keepalived.parse_ipvsadm(out) if rc == 0 else None


def healthy_real_servers(module, services):
    """The (ip, port) of the rendered real servers whose health check passes now,
    checked the way keepalived checks them (the same checker for amqp)."""
    checks = {}
    for svc in services:
        for want in keepalived.expected_table(svc).values():
            for rip in want["real_servers"]:
                checks[rip] = svc
    healthy = set()
    for rip, svc in sorted(checks.items()):
        check = svc["health_check"]
        if check == "none":
            healthy.add(rip)
            continue
        if check in ("amqp", "amqps"):
            command = [module.params["amqp_checker"]] + keepalived.amqp_check_args(svc, rip[0], rip[1])
        else:
            command = ["/bin/bash", "-c", "exec 3<>/dev/tcp/%s/%d" % rip]
        if module.run_command(command)[0] == 0:
            healthy.add(rip)
    return healthy


def keepalived_confirm(module, services, absent):
    """Wait until the IPVS table serves ``services`` as rendered and holds none
    of ``absent``. Returns None when confirmed, else the reason."""
    deadline = time.time() + module.params["confirm_timeout"]
    healthy = healthy_real_servers(module, services)
    while True:
        table = ipvs_table(module)
        if table is None:
            module.warn("ipvsadm cannot read the IPVS table; the reload was not confirmed")
            return None
        states = dict((svc["label"], admin.read_service(module.params["admin_dir"], svc["label"]))
                      for svc in services)
        problems = keepalived.table_problems(services, table, healthy, absent, states)
        if not problems:
            return None
        if time.time() >= deadline:
            return ("keepalived did not put the configuration in force (see journalctl -u %s): %s"
                    % (module.params["unit"], "; ".join(problems)))
        time.sleep(0.5)


def reload_and_confirm(module, engine, services, absent):
    """Reload the running engine and confirm. Returns (reloaded, failure)."""
    if not unit_active(module):
        return False, None
    before = haproxy_processes(module) if engine == "haproxy" else None
    if engine == "haproxy" and before is None:
        module.warn("no HAProxy master CLI at %s; the reload cannot be confirmed"
                    % module.params["master_socket"])
    ok, output = systemctl_reload(module)
    if not ok:
        return True, "reload of %s failed: %s" % (module.params["unit"], output)
    if engine == "haproxy":
        return True, haproxy_confirm(module, before) if before is not None else None
    return True, keepalived_confirm(module, services, absent)


def change(module, engine, path, desired, services=(), absent=(), result=None):
    """The whole change of one file, as both modules make it: compare, show the
    diff, validate, and outside check mode apply (write, reload, confirm, or put
    back and fail). Exits the module with ``result`` plus changed/diff/reloaded."""
    result = dict(result or {})
    current = read_text(path)
    result.update(changed=current != desired or result.get("changed", False), path=path, reloaded=False)
    if module._diff:
        result["diff"] = dict(before=current or "", after=desired or "",
                              before_header=path, after_header=path)
    if current != desired:
        validate(module, engine, {path: desired})
        if not module.check_mode:
            result["reloaded"] = apply(module, engine, {path: desired}, services=services,
                                       absent=absent, result=result)
    module.exit_json(**result)


def apply(module, engine, files, services=(), absent=(), result=None):
    """Write ``files`` ({path: content or None}), reload and confirm; on failure
    restore the previous files, reload again and fail the module.

    ``services`` are the normalized l4_dr services that must be in the IPVS
    table afterwards, ``absent`` the (vip, port) that must be gone (keepalived).
    Returns whether the engine was reloaded."""
    result = result if result is not None else {}
    previous = dict((path, read_text(path)) for path in files)
    put_files(module, files)
    if not module.params["reload"]:
        return False
    reloaded, failure = reload_and_confirm(module, engine, services, absent)
    if failure is None:
        return reloaded
    put_files(module, previous)
    restored, again = reload_and_confirm(module, engine, [], ())
    module.fail_json(msg="%s; the previous configuration was put back%s" % (
        failure, " and is in force" if restored and again is None else
        " but its reload was not confirmed either (%s)" % again if restored else ""),
        rolled_back=sorted(files), **result)
