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
# make report: number of trusted networks, report language, output name.
NETWORKS ?= $(or $(MAILGW_LAB_NETWORKS),1)
REPORT_LANG ?= en
SCENARIO ?= lab-$(NETWORKS)

.PHONY: lab lab-deploy lab-verify lab-destroy test lint molecule venv docker images clean \
	report report-docs test-report benchmark

lab: lab-deploy lab-verify

lab-deploy: venv docker images
	ansible-playbook playbooks/lab/create.yml
	ansible-playbook playbooks/lab/site.yml

lab-verify: venv
	pytest -p no:cacheprovider tests

lab-destroy: venv
	ansible-playbook playbooks/lab/destroy.yml

# Deploy the lab, verify it and write report/SCENARIO/report.{md,html,junit.xml}.
# The report is written also when tests fail; the target then fails. pytest
# exit codes above 1 (interrupted, internal or usage error, no tests) fail it
# too, because the report would then show requirements without tests.
report: venv
	MAILGW_LAB_NETWORKS=$(NETWORKS) $(MAKE) lab-deploy
	mkdir -p report/$(SCENARIO)
	status=0; \
	MAILGW_LAB_NETWORKS=$(NETWORKS) pytest -p no:cacheprovider tests \
		--junitxml=report/$(SCENARIO)/pytest.junit.xml || status=$$?; \
	scripts/report render --junit report/$(SCENARIO)/pytest.junit.xml \
		--manifest $(MAILGW_STATE_DIR)/manifest.json --scenario $(SCENARIO) \
		--lang $(REPORT_LANG) --out report/$(SCENARIO); rc=$$?; \
	if [ $$status -gt 1 ]; then echo "make report: pytest ended with exit code $$status"; exit $$status; fi; \
	exit $$rc

# Write docs/requirements.md and docs/requirements.de.md from the catalogue,
# the test markers and the test descriptions (docstrings in English,
# requirements/tests.de.yml in German). make lint fails when they are out
# of date, or when a test has no docstring or no German description.
report-docs: venv
	scripts/report docs

# The report tool's own tests, with a headless Chromium screenshot.
test-report: venv
	pytest -p no:cacheprovider scripts/tests

test: lint test-report molecule

lint: venv
	yamllint -s .
	ansible-lint --offline --profile production
	scripts/role-docs --check
	scripts/report docs --check

molecule: venv docker images
	molecule test --all

# Measure deployment and mail-path speed (docs/benchmarks.md): about two
# and a half hours on two cores. It destroys the lab first and leaves a
# one-network lab deployed; the figures go to the state directory as JSON.
BENCHMARK_RUNS ?= 3
benchmark: venv docker images
	images/build bare
	scripts/benchmark deploy --networks 1,2,4 --runs $(BENCHMARK_RUNS) --bare-runs $(BENCHMARK_RUNS) \
	  --molecule-runs $(BENCHMARK_RUNS) --json $(MAILGW_STATE_DIR)/benchmark-deploy.json
	MAILGW_LAB_NETWORKS=4 ansible-playbook playbooks/lab/destroy.yml
	MAILGW_LAB_NETWORKS=1 ansible-playbook playbooks/lab/create.yml
	MAILGW_LAB_NETWORKS=1 ansible-playbook playbooks/lab/site.yml
	scripts/benchmark mail --runs $(BENCHMARK_RUNS) --json $(MAILGW_STATE_DIR)/benchmark-mail.json

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
