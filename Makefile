# lbstack.rabbitmq - make lab / make test. Every target sets up what it needs
# on a fresh Debian 12 machine (run as root); the lab's hosts run Debian 13.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

VENV        := .venv
PY          := $(VENV)/bin/python
ANSIBLE_WHEEL_VERSION := 12.3.0
# Collections the project uses, copied out of the `ansible` package on PyPI
# (Galaxy is not reachable from the lab machines).
COLLECTIONS := ansible/posix community/rabbitmq
COLL_DIR    := .collections/ansible_collections
APT_PACKAGES := chromium fonts-dejavu-core podman runc netavark aardvark-dns slirp4netns uidmap fuse-overlayfs \
                iptables debootstrap openssh-client rsync python3-venv tcpdump \
                qemu-system-x86 qemu-utils e2fsprogs
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

.PHONY: help deps venv lab lab-rerun lab-check lab-up lab-down lab-status overview test lint sanity unit molecule bench chaos clean

help:
	@echo "make lab       build the local lab and deploy the full stack into it"
	@echo "               (MODE=l4_dr: Layer 4 Direct Routing through qemu IPVS directors;"
	@echo "               LAB_OS=debian12: Debian 12 hosts instead of Debian 13)"
	@echo "make test      lint, sanity, unit tests and the molecule scenarios"
	@echo "make lab-rerun re-run site.yml on the running lab; fails if any host changes"
	@echo "make lab-check make the lab's hosts anew and run site.yml --check on them (check mode on fresh hosts)"
	@echo "make lab-down  remove every container and network the lab made"
	@echo "make overview  the lab's System Overview page (status.yml) and its screenshot for docs/"
	@echo "make bench     benchmarks; figures go to tests/perf/results.md (MODE=l4_dr: Direct Routing;"
	@echo "               MODE=agent: the feedback agent on loopback; ONLY=feedback: load change to"
	@echo "               weight on the lab of MODE; ONLY=day2: rolling restart under load and drain"
	@echo "               to the last connection on the lab of MODE; ONLY=failover: client gap when"
	@echo "               the master dies or stops (RUNS=20 for a p99); ONLY=spurious CONDITION=idle|load"
	@echo "               MINUTES=30: VRRP transitions on a steady pair; MODE=l4_dr ONLY=sync: 1000 connections"
	@echo "               through a director failover, hard and graceful)"
	@echo "make chaos     deploy the lab (MODE=l4_dr: Direct Routing) and break it on purpose: keepalived"
	@echo "               killed, master lost, split brain, brokers killed, reload storms (ONLY=case,case);"
	@echo "               lost and duplicated messages per case to tests/perf/results.md"

deps: .stamp-deps
.stamp-deps: Makefile
	@missing=$$(for p in $(APT_PACKAGES); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing; \
	fi
	@touch $@

venv: $(VENV)/.stamp
$(VENV)/.stamp: requirements.txt .stamp-deps
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q --disable-pip-version-check -r requirements.txt
	rm -rf .collections && mkdir -p $(COLL_DIR)/lbstack
	ln -s ../../.. $(COLL_DIR)/lbstack/rabbitmq
	tmp=$$(mktemp -d) && \
	  $(VENV)/bin/pip download -q --disable-pip-version-check --no-deps -d $$tmp ansible==$(ANSIBLE_WHEEL_VERSION) && \
	  $(PY) tools/install_collections.py $$tmp/ansible-*.whl $(COLL_DIR) $(COLLECTIONS) && \
	  rm -rf $$tmp
	touch $@

# make lab MODE=l4_dr: Layer 4 Direct Routing (qemu directors with IPVS) instead
# of the default Layer 7 SNAT (HAProxy).
MODE ?= l7_snat
LAB_INVENTORY_l7_snat := inventories/lab
LAB_INVENTORY_l4_dr   := inventories/lab_dr
# make bench MODE=agent: the feedback agent on loopback (no lab)
LAB_INVENTORY_agent   := inventories/lab
LAB_INVENTORY = $(or $(LAB_INVENTORY_$(MODE)),$(error MODE=$(MODE): use l7_snat or l4_dr))
# make lab LAB_OS=debian12: the lab's hosts run Debian 12 instead of Debian 13
# (each platform's images are built once and cached).
LAB_OS ?= debian13
LAB_ENV = LBSTACK_LAB_INVENTORY=$(LAB_INVENTORY) LBSTACK_LAB_OS=$(LAB_OS)

lab: venv
	$(LAB_ENV) $(PY) lab/labctl.py up
	ansible-playbook -i $(LAB_INVENTORY) site.yml
	ansible-playbook -i $(LAB_INVENTORY) playbooks/status.yml
	ansible-playbook -i $(LAB_INVENTORY) lab/roundtrip.yml

# Re-run site.yml on the running lab (of MODE) and fail if any host reports a
# change: the idempotence check for the Direct Routing lab, whose scenario in
# make test cannot afford a second site.yml run.
lab-rerun: venv
	@out=$$(mktemp) && trap 'rm -f $$out' EXIT && \
	  ansible-playbook -i $(LAB_INVENTORY) site.yml | tee $$out && \
	  if grep -E ' : ok=[0-9]+ +changed=[1-9]' $$out; then echo "lab-rerun: the hosts above changed" >&2; exit 1; fi

lab-up: venv
	$(LAB_ENV) $(PY) lab/labctl.py up

# Check mode on fresh hosts (of MODE): the lab's hosts made anew, then site.yml
# --check, which must not fail before anything is deployed; the lab is left
# made but empty. The l4_dr scenario leaves this step out (3.5 minutes on the
# emulated directors); the default and real_server scenarios run it.
lab-check: venv
	$(LAB_ENV) $(PY) lab/labctl.py down
	$(LAB_ENV) $(PY) lab/labctl.py up
	ansible-playbook -i $(LAB_INVENTORY) site.yml --check

lab-down:
	@if [ -x $(PY) ]; then $(PY) lab/labctl.py down; else python3 -c 'import yaml' 2>/dev/null && python3 lab/labctl.py down; fi

lab-status: venv
	$(LAB_ENV) $(PY) lab/labctl.py status

# The System Overview page of the running lab, and its screenshot in headless
# Chromium (docs/images/system-overview-MODE.png).
OVERVIEW_HTML ?= /tmp/lbstack-overview-$(MODE).html
overview: venv
	ansible-playbook -i $(LAB_INVENTORY) playbooks/status.yml -e status_html=$(OVERVIEW_HTML)
	$(PY) lab/overview_page.py screenshot $(OVERVIEW_HTML) docs/images/system-overview-$(MODE).png

test: lint sanity unit molecule

lint: venv
	yamllint -s .
	ansible-lint
	ansible-playbook --syntax-check site.yml playbooks/*.yml

unit: venv
	$(PY) -m pytest -q tests/unit

# ansible-test fetches a pip bootstrap script from a host the lab machines cannot
# reach; tools/get_pip_offline.py does the same from PyPI. 24.2 is the pip that
# the pinned ansible-core asks for.
ANSIBLE_TEST_GET_PIP := $(HOME)/.ansible/test/cache/get_pip_24_2.py

sanity: venv
	@[ -f $(ANSIBLE_TEST_GET_PIP) ] || install -D -m 0644 tools/get_pip_offline.py $(ANSIBLE_TEST_GET_PIP)
	rm -rf .build && mkdir -p .build/ansible_collections/lbstack/rabbitmq
	git ls-files -z --cached --others --exclude-standard | rsync -a --from0 --files-from=- ./ .build/ansible_collections/lbstack/rabbitmq/
	cd .build/ansible_collections/lbstack/rabbitmq && git init -q . && git add -A && \
	  ansible-test sanity --python 3.11 --color no --requirements

# One scenario at a time, each one's output kept in .build/molecule-<name>.log
# and its duration in .build/molecule-times.txt; a failed scenario's failed
# tasks are printed again at the end, where a CI log's tail shows them.
MOLECULE_SCENARIOS ?= debian12 default l4_dr real_server
molecule: venv
	@mkdir -p .build && : > .build/molecule-times.txt
	@for s in $(MOLECULE_SCENARIOS); do \
	  start=$$(date +%s); rc=0; \
	  molecule test -s $$s 2>&1 | tee .build/molecule-$$s.log || rc=$$?; \
	  echo "molecule scenario $$s: $$(( $$(date +%s) - start )) s, exit $$rc" | tee -a .build/molecule-times.txt; \
	  if [ $$rc -ne 0 ]; then $(PY) tools/molecule_failures.py .build/molecule-$$s.log; cat .build/molecule-times.txt; exit $$rc; fi; \
	done; cat .build/molecule-times.txt

bench: venv
	$(LAB_ENV) $(PY) tests/perf/bench.py --mode $(MODE) $(if $(ONLY),--only $(ONLY)) \
	  $(if $(RUNS),--runs $(RUNS)) $(if $(CONDITION),--condition $(CONDITION)) $(if $(MINUTES),--minutes $(MINUTES))

# The chaos suite (tests/chaos/chaos.py): deploys the lab of MODE, then breaks
# it on purpose case by case (ONLY=case,case for some); figures to tests/perf/results.md.
chaos: lab
	$(LAB_ENV) $(PY) tests/chaos/chaos.py --mode $(MODE) $(if $(ONLY),--only $(ONLY))

clean: lab-down
	rm -rf $(VENV) .collections .build .stamp-deps
