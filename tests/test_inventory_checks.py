"""Bad inventory values stop the deployment before any host changes.

Each case runs the site playbook against the running lab with one value
overridden, and expects the preflight play to fail with a message that
names the variable and the bad value, with no host changed."""

import re

import pytest

from lab import run_site


# (case id, extra variables, text the failure message must contain). The
# variables apply to every host. A function in place of the variables builds
# them from the lab manifest. A mail server value that fits only the
# first network runs limited to that network's mail server, because other
# networks would fail on it first (see FIRST_MAIL_SERVER_ONLY).
BAD_INPUTS = [
    ("relay-trusts-everyone",
     {"mail_relay_internal_clients": ["0.0.0.0/0"]},
     'mail_relay_internal_clients contains "0.0.0.0/0"'),
    ("flow-to-unknown-zone",
     {"topology_flows": [{"name": "lan to nowhere", "from": "lan", "to": "nowhere", "ports": [25]}]},
     '"nowhere"'),
    ("user-outside-domain",
     {"mail_server_users": [{"address": "eve@elsewhere.example", "password": "long-enough-password"}]},
     "eve@elsewhere.example"),
    ("route-without-gateway-address",
     {"routes_list": [{"to": "default", "via": "gateway"}]},
     "routes_list entry"),
    ("relayhost-without-brackets",
     {"mail_server_relayhost": "mx.gateway.example"},
     'mail_server_relayhost is "mx.gateway.example"'),
    ("relay-client-not-an-address",
     {"mail_relay_internal_clients": ["172.29.2.300"]},
     'mail_relay_internal_clients contains "172.29.2.300"'),
    ("mail-relay-client-bad-mask",
     {"mail_server_relay_clients": ["172.29.1.10/33"]},
     'mail_server_relay_clients is ["172.29.1.10/33"]'),
    ("empty-password",
     {"mail_server_users": [{"address": "eve@agency.example", "password": ""}]},
     'Too short or missing for: ["eve@agency.example"]'),
    ("alias-to-missing-user",
     {"mail_server_aliases": {"abuse@agency.example": ["jon.doe@agency.example"]}},
     'local addresses that no user has: ["jon.doe@agency.example"]'),
    ("no-mail-domain",
     {"mail_server_domains": []},
     "mail_server_domains is []"),
    ("unknown-tls-profile",
     {"mail_relay_tls_profiles": {"smtpd": "modern"}},
     'mail_relay_tls_profiles.smtpd is "modern", which tls_profiles_definitions does not define'),
    ("tls-profile-with-cipher-string",
     {"tls_profiles_definitions": {"bsi": {"protocols": "TLSv1.2", "ciphers": "HIGH:!aNULL",
                                           "groups": ["secp384r1"]}}},
     "tls_profiles_definitions.bsi is invalid"),
    ("tls-profile-allows-tls-1-0",
     {"tls_profiles_definitions": {"bsi": {"protocols": "TLSv1", "ciphers": ["AES128-SHA"],
                                           "groups": ["secp384r1"]}}},
     "write protocols as TLSv1.2 or TLSv1.3"),
    ("relay-trusts-all-of-ipv6",
     {"mail_relay_internal_clients": ["::/0"]},
     'mail_relay_internal_clients contains "::/0"'),
    ("relay-trusts-private-range",
     {"mail_relay_internal_clients": ["10.0.0.0/8"]},
     'mail_relay_internal_clients contains "10.0.0.0/8"'),
    ("domain-in-two-networks",
     lambda lab: {"topology_networks": lab["networks"] + [dict(lab["networks"][0], name="annex")]},
     "domain agency.example is served by the networks agency and annex"),
    ("mail-server-outside-mail-dmz",
     lambda lab: {"topology_networks": [dict(network, mail_dmz=["192.0.2.0/24"])
                                        for network in lab["networks"]]},
     "has the address 172.29.2.10, outside its mail DMZ ['192.0.2.0/24']"),
    ("relayed-domain-listed-twice",
     {"mail_relay_domains": [{"domain": "agency.example", "nexthop": "mail.agency.example",
                              "recipients": ["john.doe@agency.example"]},
                             {"domain": "agency.example", "nexthop": "mail.other.example",
                              "recipients": ["john.doe@agency.example"]}]},
     'mail_relay_domains lists ["agency.example"] more than once'),
    ("certificate-missing",
     {"mail_relay_tls_cert": "/etc/ssl/mailgw/missing.pem"},
     'mail_relay_tls_cert is "/etc/ssl/mailgw/missing.pem", which does not exist on relay'),
    ("tls-suite-unknown-to-openssl",
     {"tls_profiles_tls13_ciphersuites": ["TLS_AES_256_GCM_SHA384", "TLS_AES_512_GCM_SHA999"]},
     'does not know the suites ["TLS_AES_512_GCM_SHA999"]'),
    ("extra-setting-overrides-the-role",
     {"mail_server_postconf_extra": {"smtpd_tls_security_level": "may"}},
     "mail_server_postconf_extra sets smtpd_tls_security_level, which the mail_server role sets itself in main.cf. Remove"),
    ("extra-dovecot-setting-turns-off-tls",
     {"mail_server_dovecot_extra": {"ssl": "no"}},
     "mail_server_dovecot_extra sets ssl, which the mail_server role sets itself in dovecot.conf. Remove"),
    ("extra-setting-smuggles-a-second-line",
     {"mail_relay_postconf_extra": {"smtpd_banner": "$myhostname ESMTP\nmynetworks = 0.0.0.0/0"}},
     'mail_relay_postconf_extra has the entry "smtpd_banner"'),
    ("queue-time-in-words",
     {"mail_relay_delay_warning_time": "4 hours"},
     'mail_relay_delay_warning_time is "4 hours": write a Postfix time'),
    ("boolean-as-text",
     {"mail_server_discard_duplicates": "false"},
     'mail_server_discard_duplicates is "false": write true or false without quotes'),
    ("duplicate-period-in-weeks",
     {"mail_server_duplicate_period": "2w"},
     'mail_server_duplicate_period is "2w": write a Dovecot time'),
    ("password-rounds-below-the-minimum",
     {"mail_server_password_rounds": 100},
     "mail_server_password_rounds is 100: write a whole number from 1000"),
    ("login-cache-size-in-words",
     {"mail_server_auth_cache_size": "ten megabytes"},
     'mail_server_auth_cache_size is "ten megabytes": write a Dovecot size'),
    ("extra-rule-with-a-second-statement",
     {"packet_filter_extra_rules": {"input": ["tcp dport 22 accept; flush ruleset"]}},
     'packet_filter_extra_rules.input contains "tcp dport 22 accept; flush ruleset"'),
    ("size-limit-turned-off",
     {"mail_relay_message_size_limit": -1},
     "mail_relay_message_size_limit is -1: write the largest message size in bytes"),
    ("size-limit-with-a-unit",
     {"mail_server_message_size_limit": "25M"},
     'mail_server_message_size_limit is "25M": write a whole number without a unit'),
    ("dane-without-trust-anchor",
     {"dns_resolver_root_trust_anchor": False, "dns_resolver_trust_anchors": []},
     "a resolver without the root anchor needs at least one anchor"),
]

# Cases whose override is valid for no other network's mail server.
FIRST_MAIL_SERVER_ONLY = {"alias-to-missing-user"}


@pytest.mark.requirement("KIT-bad-input-stops")
@pytest.mark.input_checks
@pytest.mark.parametrize("case,variables,expected", BAD_INPUTS, ids=[case[0] for case in BAD_INPUTS])
def test_bad_input_stops_before_any_change(tmp_path, lab, case, variables, expected):
    """For each bad inventory value in the list, such as a relay that trusts
    every address, a TLS profile with TLS 1.0 or an extra nft rule that
    smuggles in a second statement, site.yml fails. Its output contains the
    expected message, which names the variable or the value, and the play
    recap shows changed=0 for every host."""
    if callable(variables):
        variables = variables(lab)
    options = []
    if case in FIRST_MAIL_SERVER_ONLY:
        options = ["--limit", lab["networks"][0]["mail_server"]]
    returncode, output = run_site(tmp_path, variables, *options, timeout=600)

    assert returncode != 0, output[-2000:]
    assert expected in output, output[-3000:]
    changed = re.findall(r"changed=(\d+)", output)
    assert changed, output[-2000:]
    assert set(changed) == {"0"}, output[-2000:]
