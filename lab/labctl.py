"""Build, start and remove the local lab that the collection is deployed into.

The lab is a podman bridge on 198.18.0.0/24 and 2001:db8:18::/64 with systemd
containers, one per host of ``inventories/lab/hosts.yml``. Everything here is
lab-only: workarounds for running daemons in unprivileged containers live in
this file and in ``lab/image/``, never in the roles.

    labctl.py image     build the cached base image (only when its recipe changed)

The lab's platform is LBSTACK_LAB_OS (``make lab LAB_OS=debian12``): one of
the ``platforms`` of the recipes, debian13 by default. Each platform has its
own cached images, so switching back and forth builds each only once.
    labctl.py up        image + network + containers, reusing what already exists
    labctl.py up --fresh   remove the lab hosts first (molecule uses this)
    labctl.py down      remove containers, network, and undo host IPv6 forwarding
    labctl.py status    one line per lab host
    labctl.py kill HOST   hard-stop one lab host as a power loss would (off the network, then
                          killed: a failure for the tests); `up` restarts it
"""

import argparse
import base64
import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
IMAGE_DIR = ROOT / "lab" / "image"
DIRECTOR_DIR = ROOT / "lab" / "director"
# The lab's inventory: inventories/lab (Layer 7, all containers) by default,
# or another one (inventories/lab_dr: qemu directors) through LBSTACK_LAB_INVENTORY.
INVENTORY = Path(os.environ.get("LBSTACK_LAB_INVENTORY", ROOT / "inventories" / "lab")) / "hosts.yml"
# Machine-wide, like the lab itself (fixed names and addresses): any checkout
# can bring the lab down, and the inventory names the key by a fixed path.
STATE_DIR = Path(os.environ.get("LBSTACK_LAB_STATE", "/var/lib/lbstack-lab"))
DEFAULT_OS = "debian13"
NETWORK = "lbstack-lab"
SUBNET4, GATEWAY4 = "198.18.0.0/24", "198.18.0.1"
SUBNET6, GATEWAY6 = "2001:db8:18::/64", "2001:db8:18::1"
LABEL = "lbstack.lab=1"
IPV6_FORWARDING = Path("/proc/sys/net/ipv6/conf/all/forwarding")

# Per-group container settings. keepalived needs NET_ADMIN and NET_RAW; the
# namespaced net.* keys the load_balancer role manages are preset here because
# /proc/sys stays read-only inside the containers (never unmask it: that would
# let the container write this machine's own kernel settings).
GROUP_OPTIONS = {
    # IPC_LOCK: keepalived's VRRP process locked in memory (load_balancer_vrrp_realtime).
    # Its realtime priority stays refused here: podman's parent cgroup has no
    # realtime budget (cpu.rt_runtime_us 0), and the lab leaves the machine's
    # cgroups alone; the Direct Routing directors (VMs) get it. SYS_NICE: keepalived
    # starts at nice -20 instead (load_balancer_keepalived_nice in the lab's
    # inventory), so its 0.05 s adverts keep their time while the brokers' Erlang
    # VMs and Ansible saturate the machine's two cores.
    # --cpu-shares: nice only ranks processes inside one container; between
    # containers the scheduler weighs their cgroups, and at the default share
    # the brokers' Erlang VMs (rabbitmqctl on all three at once) held the
    # master's keepalived off the CPU for 0.25 s, longer than the backup's
    # master-down interval (measured on the bridge: gaps of 0.23-0.25 s between
    # lb1's adverts in 2 of 4 site.yml runs, none above 0.09 s in 6 runs with
    # this share).
    # A balancer's container gets the CPU whenever it wants it, as a dedicated
    # machine would; it stays small (HAProxy and keepalived), so the brokers
    # keep what they had. It is the container's own cgroup, not the machine's.
    "load_balancers": [
        "--cpu-shares=262144",
        "--cap-add=NET_ADMIN", "--cap-add=NET_RAW", "--cap-add=IPC_LOCK", "--cap-add=SYS_NICE",
        "--sysctl=net.ipv4.ip_nonlocal_bind=1",
        "--sysctl=net.ipv6.ip_nonlocal_bind=1",
    ],
    # One CPU each: a broker's load shows in its own cgroup (the feedback agent
    # reads it there), not on the others, as on separate machines.
    # NET_ADMIN: the firewall role's nftables table (in the container's own network namespace).
    "rabbitmq": ["--cpus=1", "--cap-add=NET_ADMIN"],
    # The client adds routes in the real server tests (VIP traffic straight to a real server).
    "lab_clients": ["--cap-add=NET_ADMIN", "--cap-add=NET_RAW"],
}


def log(msg):
    print(f"lab: {msg}", flush=True)


def podman_env():
    env = dict(os.environ)
    env["CONTAINERS_CONF"] = str(STATE_DIR / "containers.conf")
    return env


def podman(*args, check=True, capture=True):
    cmd = ["podman", *args]
    res = subprocess.run(cmd, env=podman_env(), text=True, check=False,
                         stdout=subprocess.PIPE if capture else None,
                         stderr=subprocess.PIPE if capture else None)
    if check and res.returncode != 0:
        raise SystemExit(f"lab: {' '.join(cmd)} failed ({res.returncode}):\n{res.stderr}")
    return res


def inventory_hosts():
    """{name: (group, host variables)} of the lab inventory's hosts.yml."""
    data = yaml.safe_load(INVENTORY.read_text())
    return dict((name, (group, hv)) for group, body in data["all"]["children"].items()
                for name, hv in (body.get("hosts") or {}).items())


def lab_hosts():
    """(name, group, ipv4, ipv6, kind) for every host in the lab inventory.

    ipv4 is ``lab_ip`` where the inventory reaches the host by a name
    (``ansible_host``), else ``ansible_host``. kind is "container" (systemd
    container) or "vm" (qemu director, lab_kind: vm).
    """
    return [(name, group, hv.get("lab_ip", hv["ansible_host"]), hv["lbstack_ipv6"],
             hv.get("lab_kind", "container")) for name, (group, hv) in inventory_hosts().items()]


def ssh_names():
    """{ansible_host: address} of the hosts the inventory reaches by a name."""
    return dict((hv["ansible_host"], hv["lab_ip"]) for _group, hv in inventory_hosts().values()
                if "lab_ip" in hv)


def container_options(group):
    """podman options of a group: GROUP_OPTIONS plus the inventory's own.

    An inventory adds options with ``lab_container_options`` in the group's
    ``vars`` of hosts.yml (the DR lab presets its real servers' ARP settings
    there, since /proc/sys stays read-only in the containers).
    """
    data = yaml.safe_load(INVENTORY.read_text())
    body = data["all"]["children"].get(group) or {}
    return GROUP_OPTIONS.get(group, []) + list((body.get("vars") or {}).get("lab_container_options", []))


# Lab-only TLS material (made here, never committed): a CA, and the brokers'
# certificate for the lab's VIPs (the service and live_change's second one).
TLS_DIR = STATE_DIR / "tls"
TLS_NAMES = "DNS:rabbitmq.lab.test,IP:198.18.0.100,IP:198.18.0.101,IP:2001:db8:18::100,IP:2001:db8:18::101"
# Made again when this changes (what the certificates carry).
TLS_RECIPE = "2 " + TLS_NAMES


def ensure_tls():
    """The lab CA (ca.pem) and the brokers' certificate and key (rabbitmq.pem,
    rabbitmq.key), made again when missing or within 30 days of expiry."""
    cert = TLS_DIR / "rabbitmq.pem"
    recipe = TLS_DIR / "recipe"
    fresh = ["openssl", "x509", "-checkend", str(30 * 86400), "-noout", "-in", str(cert)]
    if recipe.exists() and recipe.read_text() == TLS_RECIPE and \
            subprocess.run(fresh, capture_output=True, check=False).returncode == 0:
        return
    TLS_DIR.mkdir(parents=True, exist_ok=True)
    os.chmod(TLS_DIR, 0o700)
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    # Key usage and key identifiers: clients that verify strictly (Python 3.13) want them.
    subprocess.run(["openssl", "req", "-x509", *ec, "-keyout", str(TLS_DIR / "ca.key"),
                    "-out", str(TLS_DIR / "ca.pem"), "-days", "3650",
                    "-subj", "/CN=lbstack lab CA (lab only)",
                    "-addext", "basicConstraints=critical,CA:TRUE",
                    "-addext", "keyUsage=critical,keyCertSign,cRLSign"], check=True, capture_output=True)
    subprocess.run(["openssl", "req", *ec, "-keyout", str(TLS_DIR / "rabbitmq.key"),
                    "-out", str(TLS_DIR / "rabbitmq.csr"), "-subj", "/CN=rabbitmq.lab.test"],
                   check=True, capture_output=True)
    ext = TLS_DIR / "rabbitmq.ext"
    ext.write_text("subjectAltName=%s\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n"
                   "extendedKeyUsage=serverAuth\nsubjectKeyIdentifier=hash\n"
                   "authorityKeyIdentifier=keyid,issuer\n" % TLS_NAMES)
    subprocess.run(["openssl", "x509", "-req", "-in", str(TLS_DIR / "rabbitmq.csr"),
                    "-CA", str(TLS_DIR / "ca.pem"), "-CAkey", str(TLS_DIR / "ca.key"), "-CAcreateserial",
                    "-days", "825", "-extfile", str(ext), "-out", str(cert)], check=True, capture_output=True)
    recipe.write_text(TLS_RECIPE)


def write_state_files():
    STATE_DIR.mkdir(parents=True, exist_ok=True)
    ensure_tls()
    conf = STATE_DIR / "containers.conf"
    text = (IMAGE_DIR / "containers.conf").read_text()
    if not conf.exists() or conf.read_text() != text:
        conf.write_text(text)
    key = STATE_DIR / "id_ed25519"
    if not key.exists():
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "lbstack-lab",
                        "-f", str(key)], check=True)
    (STATE_DIR / "authorized_keys").write_text((STATE_DIR / "id_ed25519.pub").read_text())
    # For ssh, testinfra and scp into the lab by address: ssh -F STATE_DIR/ssh_config 198.18.0.21,
    # and by the names an inventory gives its hosts (ansible_host, with lab_ip): the lab's
    # own name resolution, so the machine's /etc/hosts is never touched.
    names = "".join("Host %s\n  HostName %s\n" % item for item in sorted(ssh_names().items()))
    (STATE_DIR / "ssh_config").write_text(
        names +
        "Host 198.18.0.* 2001:db8:18::* *.lab.test\n"
        "  User root\n"
        "  IdentityFile %s\n"
        "  StrictHostKeyChecking no\n"
        "  UserKnownHostsFile /dev/null\n"
        "  LogLevel ERROR\n"
        "  ConnectTimeout 5\n"
        # A host that dies (a killed container, a VM whose kernel stopped) fails the
        # command within a minute instead of leaving it waiting for ever.
        "  ServerAliveInterval 5\n"
        "  ServerAliveCountMax 12\n"
        "  ControlMaster auto\n"
        "  ControlPath /tmp/lbstack-lab-ssh-%%C\n"
        "  ControlPersist 30\n" % key)


# ---------------------------------------------------------------- image
def lab_os(directory=IMAGE_DIR):
    """(name, platform settings) of the lab's platform, from LBSTACK_LAB_OS."""
    name = os.environ.get("LBSTACK_LAB_OS") or DEFAULT_OS
    platforms = yaml.safe_load((directory / "recipe.yml").read_text())["platforms"]
    if name not in platforms:
        raise SystemExit(f"lab: LBSTACK_LAB_OS={name}: use one of {', '.join(platforms)}")
    return name, platforms[name]


def recipe_digest(directory=IMAGE_DIR):
    """The image tag of a recipe folder on the lab's platform: <os>-<hash of the folder>."""
    name = lab_os(directory)[0]
    h = hashlib.sha256(name.encode())
    for path in sorted(directory.rglob("*")):
        if path.is_file():
            h.update(str(path.relative_to(directory)).encode())
            h.update(path.read_bytes())
    return f"{name}-{h.hexdigest()[:12]}"


def debootstrap(directory, rootfs):
    """A Debian root file system from a recipe folder (recipe.yml + rootfs/ overlay)."""
    recipe = yaml.safe_load((directory / "recipe.yml").read_text())
    suite = lab_os(directory)[1]["suite"]
    subprocess.run(["debootstrap", "--variant=minbase",
                    "--include=" + ",".join(recipe["include"]),
                    suite, str(rootfs), recipe["mirror"]],
                   check=True, stdout=subprocess.DEVNULL)
    shutil.copytree(directory / "rootfs", rootfs, dirs_exist_ok=True, symlinks=True)
    (rootfs / "etc" / "apt" / "sources.list").write_text(
        f"deb {recipe['mirror']} {suite} main\n"
        f"deb {recipe['mirror']} {suite}-updates main\n"
        f"deb {recipe['security_mirror']} {suite}-security main\n")
    for cmd in recipe["chroot"]:
        subprocess.run(["chroot", str(rootfs), "/bin/sh", "-ec", cmd], check=True,
                       env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
                            "DEBIAN_FRONTEND": "noninteractive", "LC_ALL": "C"})


def image_name():
    return f"localhost/lbstack-lab:{recipe_digest()}"


def build_image():
    write_state_files()
    name = image_name()
    if podman("image", "exists", name, check=False).returncode == 0:
        log(f"image {name} is cached")
        return name
    log(f"building {name} (debootstrap, about a minute)")
    with tempfile.TemporaryDirectory(prefix="lbstack-rootfs-") as tmp:
        rootfs = Path(tmp) / "rootfs"
        debootstrap(IMAGE_DIR, rootfs)
        tar = subprocess.Popen(["tar", "-C", str(rootfs), "-c", "."], stdout=subprocess.PIPE)
        subprocess.run(["podman", "import", "--change", "CMD=/sbin/init", "-", name],
                       stdin=tar.stdout, env=podman_env(), check=True, stdout=subprocess.DEVNULL)
        if tar.wait() != 0:
            raise SystemExit("lab: tar of the image rootfs failed")
    # Older images of this platform; the other platforms' stay cached.
    prefix = "localhost/lbstack-lab:" + lab_os()[0] + "-"
    for old in podman("images", "--format", "{{.Repository}}:{{.Tag}}").stdout.split():
        if (old.startswith(prefix) or "-" not in old.split(":")[-1]) and old != name:
            podman("rmi", old, check=False)
    return name


# ---------------------------------------------------------------- network
def ensure_network():
    if podman("network", "exists", NETWORK, check=False).returncode == 0:
        return
    state = STATE_DIR / "state.json"
    before = IPV6_FORWARDING.read_text().strip()
    state.write_text(json.dumps({"ipv6_forwarding_before": before}))
    podman("network", "create", "--label", LABEL,
           "--subnet", SUBNET4, "--gateway", GATEWAY4,
           "--ipv6", "--subnet", SUBNET6, "--gateway", GATEWAY6, NETWORK)
    log(f"network {NETWORK} on {SUBNET4} and {SUBNET6}")


# ---------------------------------------------------------------- hosts
def container_state(name):
    """(status, image, options hash) of a lab container, or None."""
    res = podman("inspect", "--format",
                 '{{.State.Status}} {{.ImageName}} {{index .Config.Labels "lbstack.lab.options"}}',
                 name, check=False)
    return (res.stdout.split() + [""])[:3] if res.returncode == 0 else None


def remove_host(name):
    podman("rm", "-f", "-t", "0", name, check=False)


def start_container(name, group, ip4, ip6, image):
    state = container_state(name)
    options = container_options(group)
    # lab_interface: the name of the host's network interface (default eth0), so
    # a lab can give the members of a pair different NIC names.
    interface = inventory_hosts()[name][1].get("lab_interface")
    network = (["--network", f"{NETWORK}:ip={ip4},ip={ip6},interface_name={interface}"] if interface
               else ["--network", NETWORK, "--ip", ip4, "--ip6", ip6])
    digest = hashlib.sha256("\0".join(options + network).encode()).hexdigest()[:12]
    if state and (state[1] != image or state[2] != digest):
        log(f"{name}: image or options changed, recreating")
        remove_host(name)
        state = None
    if state and state[0] == "running":
        return False
    if state:
        podman("start", name)
        return True
    podman("run", "-d", "--name", name, "--hostname", name, "--label", LABEL,
           "--label", f"lbstack.lab.options={digest}",
           *network,
           "-v", f"{STATE_DIR / 'authorized_keys'}:/root/.ssh/authorized_keys:ro",
           "-v", f"{STATE_DIR / 'authorized_keys'}:/home/ops/.ssh/authorized_keys:ro",
           *options, image, "/sbin/init")
    return True


def wait_ssh(hosts, timeout=90):
    deadline = time.monotonic() + timeout
    pending = {host[2] for host in hosts}
    while pending and time.monotonic() < deadline:
        for ip in list(pending):
            try:
                with socket.create_connection((ip, 22), timeout=1) as sock:
                    if sock.recv(4).startswith(b"SSH"):
                        pending.discard(ip)
            except OSError:
                pass
        time.sleep(0.3)
    if pending:
        raise SystemExit(f"lab: no SSH on {sorted(pending)} after {timeout}s")


# ---------------------------------------------------------------- directors (qemu)
VM_DIR = STATE_DIR / "vm"


def vm_image():
    """Disk image, kernel and initrd of a director, built once per recipe."""
    write_state_files()
    target = VM_DIR / ("image-" + recipe_digest(DIRECTOR_DIR))
    if (target / "disk.raw").exists():
        return target
    log(f"building director image {target.name} (debootstrap with a kernel, a few minutes)")
    with tempfile.TemporaryDirectory(prefix="lbstack-director-") as tmp:
        rootfs = Path(tmp) / "rootfs"
        debootstrap(DIRECTOR_DIR, rootfs)
        build = Path(tmp) / "out"
        build.mkdir()
        shutil.copy(sorted((rootfs / "boot").glob("vmlinuz-*"))[-1], build / "vmlinuz")
        shutil.copy(sorted((rootfs / "boot").glob("initrd.img-*"))[-1], build / "initrd.img")
        subprocess.run(["mkfs.ext4", "-q", "-L", "root", "-d", str(rootfs), str(build / "disk.raw"),
                        "3G"], check=True)
        for old in VM_DIR.glob("image-*"):
            if old.name.startswith("image-" + lab_os(DIRECTOR_DIR)[0] + "-") or old.name.count("-") == 1:
                shutil.rmtree(old, ignore_errors=True)
        VM_DIR.mkdir(parents=True, exist_ok=True)
        shutil.move(str(build), str(target))
    return target


def bridge_name():
    return podman("network", "inspect", NETWORK, "--format", "{{.NetworkInterface}}").stdout.strip()


def vm_pid(name):
    pidfile = VM_DIR / f"{name}.pid"
    try:
        pid = int(pidfile.read_text().strip())
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (OSError, ValueError):
        return None
    # Only a qemu this lab started for this host (its name is in the command line).
    return pid if b"qemu-system" in cmdline and f"lbstack.host={name}".encode() in cmdline else None


def tap_name(name):
    return f"lbt-{name}"[:15]


def remove_vm(name):
    pid = vm_pid(name)
    if pid:
        os.kill(pid, 9)
        for _attempt in range(50):
            if not Path(f"/proc/{pid}").exists():
                break
            time.sleep(0.1)
    subprocess.run(["ip", "link", "del", tap_name(name)], check=False,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for suffix in (".pid", ".qcow2", ".console"):
        (VM_DIR / f"{name}{suffix}").unlink(missing_ok=True)


def start_vm(name, ip4, ip6, image_dir, fresh):
    if vm_pid(name):
        return False
    overlay = VM_DIR / f"{name}.qcow2"
    if fresh or not overlay.exists() or (VM_DIR / f"{name}.image").read_text() != image_dir.name:
        overlay.unlink(missing_ok=True)
        subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-F", "raw",
                        "-b", str(image_dir / "disk.raw"), str(overlay)], check=True)
        (VM_DIR / f"{name}.image").write_text(image_dir.name)
    tap = tap_name(name)
    subprocess.run(["ip", "link", "del", tap], check=False, stderr=subprocess.DEVNULL)
    subprocess.run(["ip", "tuntap", "add", tap, "mode", "tap"], check=True)
    subprocess.run(["ip", "link", "set", tap, "master", bridge_name(), "up"], check=True)
    key = base64.b64encode((STATE_DIR / "id_ed25519.pub").read_bytes().strip()).decode()
    last = int(ip4.split(".")[-1])
    append = (f"console=ttyS0 root=/dev/vda rw net.ifnames=0 quiet lbstack.host={name} "
              f"lbstack.ip4={ip4}/24 lbstack.gw4={GATEWAY4} lbstack.ip6={ip6}/64 lbstack.key={key}")
    # One vCPU: with two under multi-threaded TCG, a guest kernel that patches
    # its own code at run time (static keys, flipped when nftables first loads
    # conntrack) can trap on the other vCPU's stale copy: one clean-clone run's
    # director died in an "Oops: int3" (docs/lab.md).
    subprocess.run(["qemu-system-x86_64", "-accel", "tcg", "-m", "768", "-smp", "1",
                    "-display", "none", "-serial", f"file:{VM_DIR / (name + '.console')}",
                    "-kernel", str(image_dir / "vmlinuz"), "-initrd", str(image_dir / "initrd.img"),
                    "-append", append,
                    "-drive", f"file={overlay},if=virtio,format=qcow2",
                    "-netdev", f"tap,id=n0,ifname={tap},script=no,downscript=no",
                    "-device", f"virtio-net-pci,netdev=n0,mac=52:54:00:18:00:{last:02x}",
                    "-daemonize", "-pidfile", str(VM_DIR / f"{name}.pid")], check=True)
    return True


def up(fresh=False):
    hosts = lab_hosts()
    image = build_image() if any(h[4] == "container" for h in hosts) else None
    vm_dir = vm_image() if any(h[4] == "vm" for h in hosts) else None
    for name, _group, _ip4, _ip6, kind in hosts:
        # A host that changed kind (container <-> director VM), or --fresh.
        if fresh or kind == "vm":
            remove_host(name)
        if fresh or kind == "container":
            remove_vm(name)
    ensure_network()
    started = []
    # Containers first: netavark creates the bridge when the first one starts,
    # and the directors' taps are enslaved to it.
    for name, group, ip4, ip6, kind in sorted(hosts, key=lambda h: h[4] == "vm"):
        if kind == "vm":
            if start_vm(name, ip4, ip6, vm_dir, fresh):
                started.append(name)
        elif start_container(name, group, ip4, ip6, image):
            started.append(name)
    wait_ssh(hosts, timeout=240 if vm_dir else 90)
    log(f"{len(hosts)} hosts up ({len(started)} started, {len(hosts) - len(started)} reused)")


def down():
    # Directors first, also those of another inventory (their pid files): a tap
    # still enslaved when the last container leaves keeps the bridge, and with
    # it the lab's addresses, on this machine.
    for pidfile in VM_DIR.glob("*.pid"):
        remove_vm(pidfile.stem)
    for host in lab_hosts():
        remove_host(host[0])
        remove_vm(host[0])
    # Also containers a changed inventory no longer names.
    for name in podman("ps", "-a", "--filter", f"label={LABEL}", "--format", "{{.Names}}",
                       check=False).stdout.split():
        remove_host(name)
    if podman("network", "exists", NETWORK, check=False).returncode == 0:
        podman("network", "rm", "-f", NETWORK)
    state = STATE_DIR / "state.json"
    if state.exists():
        before = json.loads(state.read_text()).get("ipv6_forwarding_before")
        if before == "0" and IPV6_FORWARDING.read_text().strip() != "0":
            IPV6_FORWARDING.write_text("0\n")
            log("host IPv6 forwarding turned back off")
        state.unlink()
    log("lab removed")


def status():
    for name, group, ip4, ip6, kind in lab_hosts():
        if kind == "vm":
            state = "running (qemu)" if vm_pid(name) else "absent"
        else:
            st = container_state(name)
            state = st[0] if st else "absent"
        print(f"{name:10} {group:15} {ip4:14} {ip6:20} {state}")


def kill_container(name):
    """Take the host off the network, then kill it: as in a power loss, nothing
    more leaves it. Killing the container alone would let its network namespace,
    which outlives the processes for a moment, reset their connections and refuse
    new ones at once, which a dead machine never does."""
    pid = podman("inspect", "-f", "{{.State.Pid}}", name).stdout.strip()
    if pid and pid != "0":
        subprocess.run(["nsenter", "-t", pid, "-n", "sh", "-c",
                        "for i in $(ls /sys/class/net); do [ $i = lo ] || ip link set $i down; done"],
                       check=False)
    podman("kill", name)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("action", choices=["image", "up", "down", "status", "kill", "bridge"])
    parser.add_argument("host", nargs="?", help="with kill: the lab host")
    parser.add_argument("--fresh", action="store_true", help="with up: recreate the hosts")
    args = parser.parse_args()
    if shutil.which("podman") is None:
        raise SystemExit("lab: podman is not installed; run `make deps` first")
    if args.action == "image":
        print(build_image())
    elif args.action == "up":
        up(fresh=args.fresh)
    elif args.action == "down":
        down()
    elif args.action == "kill":
        if args.host not in [h[0] for h in lab_hosts()]:
            parser.error("kill needs one of the lab hosts")
        kind = {h[0]: h[4] for h in lab_hosts()}[args.host]
        if kind == "vm":
            pid = vm_pid(args.host)
            if pid:
                os.kill(pid, 9)
        else:
            kill_container(args.host)
    elif args.action == "bridge":
        print(bridge_name())  # the lab's bridge on this machine, for captures
    else:
        status()


if __name__ == "__main__":
    sys.exit(main())
