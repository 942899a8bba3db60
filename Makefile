# The two commands of README.md:
#   make lab    deploy the lab into local containers and verify it
#   make test   lint, then the full Molecule test of every scenario
# Both create the virtual environment, start Docker and build the images
# when they are missing.

SHELL := /bin/bash
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
PYTHON ?= python3
export PATH := $(BIN):$(PATH)
export MAILGW_STATE_DIR ?= $(CURDIR)/.lab
export ANSIBLE_FORCE_COLOR ?= 0
export PY_COLORS ?= 0

.PHONY: lab lab-deploy lab-verify lab-destroy test lint molecule venv docker images clean

lab: lab-deploy lab-verify

lab-deploy: venv docker images
	ansible-playbook playbooks/lab/create.yml
	ansible-playbook playbooks/lab/site.yml

lab-verify: venv
	pytest -p no:cacheprovider tests

lab-destroy: venv
	ansible-playbook playbooks/lab/destroy.yml

test: lint molecule

lint: venv
	yamllint -s .
	ansible-lint --offline --profile production
	scripts/role-docs --check

molecule: venv docker images
	molecule test --all

venv: $(VENV)/.installed

$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

docker:
	scripts/docker-up

images: docker
	images/build

clean: lab-destroy
	rm -rf $(MAILGW_STATE_DIR)
