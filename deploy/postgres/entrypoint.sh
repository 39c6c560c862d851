#!/bin/sh
# First start: create the cluster with a password for POSTGRES_USER and the database
# POSTGRES_DB; every start: run postgres listening on the compose network.
set -eu
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  printf '%s\n' "$POSTGRES_PASSWORD" > /tmp/pwfile
  initdb -U "$POSTGRES_USER" --pwfile=/tmp/pwfile --auth-local=trust --auth-host=scram-sha-256 >/dev/null
  rm -f /tmp/pwfile
  echo "host all all 0.0.0.0/0 scram-sha-256" >> "$PGDATA/pg_hba.conf"
  pg_ctl -w -o "-c listen_addresses=''" start >/dev/null
  createdb -U "$POSTGRES_USER" "$POSTGRES_DB"
  pg_ctl -w stop >/dev/null
fi
# A replica killed mid-transaction leaves no one to close its connection (its network goes
# with it): TCP keepalives find the dead peer within about 4 s, so the rows and keys its
# transaction locked (a request the balancer retried elsewhere waits on them) are released
# in seconds, not after the kernel's two hours; a transaction idle for a minute is ended
# whatever the cause. Lock waits over 1 s are logged.
exec postgres -c listen_addresses='*' \
  -c tcp_keepalives_idle=2 -c tcp_keepalives_interval=1 -c tcp_keepalives_count=2 \
  -c idle_in_transaction_session_timeout=60s \
  -c log_lock_waits=on -c deadlock_timeout=1s
