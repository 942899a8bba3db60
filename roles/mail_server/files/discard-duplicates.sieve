# Managed by the mail_server role.
# Runs before any personal script. A message whose Message-ID this mailbox
# has already stored within sieve_duplicate_default_period is discarded, so
# a sender that retries after a lost confirmation does not store it twice.
# NOTE: a message without a Message-ID should pass as new each time; no
# test covers that case.
require "duplicate";

if duplicate {
  discard;
  stop;
}
