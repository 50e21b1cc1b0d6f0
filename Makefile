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
                iptables debootstrap openssh-client rsync python3-venv \
                qemu-system-x86 qemu-utils e2fsprogs
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

.PHONY: help deps venv lab lab-up lab-down lab-status overview test lint sanity unit molecule bench clean

help:
	@echo "make lab       build the local lab and deploy the full stack into it"
	@echo "               (MODE=l4_dr: Layer 4 Direct Routing through qemu IPVS directors;"
	@echo "               LAB_OS=debian12: Debian 12 hosts instead of Debian 13)"
	@echo "make test      lint, sanity, unit tests and the molecule scenarios"
	@echo "make lab-down  remove every container and network the lab made"
	@echo "make overview  the lab's System Overview page (status.yml) and its screenshot for docs/"
	@echo "make bench     benchmarks; figures go to tests/perf/results.md (MODE=l4_dr: Direct Routing;"
	@echo "               MODE=agent: the feedback agent on loopback; ONLY=feedback: load change to"
	@echo "               weight on the lab of MODE; ONLY=day2: rolling restart under load and drain"
	@echo "               to the last connection on the lab of MODE)"

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

lab-up: venv
	$(LAB_ENV) $(PY) lab/labctl.py up

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

molecule: venv
	molecule test --all

bench: venv
	$(LAB_ENV) $(PY) tests/perf/bench.py --mode $(MODE) $(if $(ONLY),--only $(ONLY))

clean: lab-down
	rm -rf $(VENV) .collections .build .stamp-deps
