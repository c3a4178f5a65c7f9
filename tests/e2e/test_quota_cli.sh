#!/usr/bin/env bash
# title: quota limits through the CLI (plans, overrides, budgets, usage)
# The control plane of issue 12 as an operator drives it, without a
# gateway: a plan with limits, an update to none, a database's overrides
# (a value, unlimited, none = inherit again), a tenant's budget, a token's
# signed rate limit, and `db usage` reporting each limit as JSON.
# Usage: TG_BIN=path/to/tollgate test_quota_cli.sh
. "$(dirname "$0")/lib.sh"

provision Q --no-token || exit 0
DB=$Q_DB

# jget PATH: a value of the JSON on stdin (node, a real parser).
jget() { node -e 'let v = JSON.parse(require("fs").readFileSync(0, "utf8"));
  for (const k of process.argv[1].split(".")) v = v[k];
  console.log(v === null ? "null" : v)' "$1"; }
usage_of() { tg db usage --db "$DB" | jget "$1"; }

check plan-create-with-limits tg plan create --plan free --name Free \
  --commands-per-second 5 --burst 10 --daily-commands 100 --monthly-commands 1000 \
  --request-bytes 4096 --concurrent-requests 3
check plan-create-twice-refused sh -c "! '$TG_BIN' plan create --plan free --name Again 2>/dev/null"
check plan-create-bad-value-is-usage-error sh -c \
  "'$TG_BIN' plan create --plan x --name X --daily-commands -1 2>/dev/null; test \$? = 2"
check plan-assign tg plan assign --tenant "$Q_TENANT" --plan free

check usage-plan-id test "$(usage_of plan_id)" = free
check usage-daily-limit test "$(usage_of limits.daily_commands.limit)" = 100
check usage-daily-used test "$(usage_of limits.daily_commands.used)" = 0
check usage-cps-limit-is-burst test "$(usage_of limits.commands_per_second.limit)" = 10
check usage-rate test "$(usage_of rates.commands_per_second)" = 5
check usage-request-bytes test "$(usage_of limits.request_bytes.limit)" = 4096
check usage-budget-none test "$(usage_of limits.monthly_budget_micros.limit)" = null

check plan-update-to-none tg plan update --plan free --daily-commands none
check usage-daily-unlimited test "$(usage_of limits.daily_commands.limit)" = null
check usage-monthly-kept test "$(usage_of limits.monthly_commands.limit)" = 1000

check db-limits-override tg db limits --db "$DB" --daily-commands 7 --monthly-commands unlimited
check usage-daily-override test "$(usage_of limits.daily_commands.limit)" = 7
check usage-monthly-override-unlimited test "$(usage_of limits.monthly_commands.limit)" = null
check db-limits-none-inherits tg db limits --db "$DB" --monthly-commands none
check usage-monthly-inherited test "$(usage_of limits.monthly_commands.limit)" = 1000
check db-limits-unknown-db sh -c "! '$TG_BIN' db limits --db db_nope --daily-commands 1 2>/dev/null"

check tenant-budget tg tenant budget --tenant "$Q_TENANT" --monthly-micros 2500000
check usage-budget test "$(usage_of limits.monthly_budget_micros.limit)" = 2500000
check usage-budget-used test "$(usage_of limits.monthly_budget_micros.used)" = 0
check tenant-budget-none tg tenant budget --tenant "$Q_TENANT" --monthly-micros none
check usage-budget-cleared test "$(usage_of limits.monthly_budget_micros.limit)" = null

# Usage seeded from the rollups, as a gateway starting now would hold it.
minute=$(( $(date +%s) / 60 ))
period=$(date -u +%Y-%m)
if command -v sqlite3 >/dev/null; then  # else: covered by test_quota.c
  sqlite3 "$TOLLGATE_SQLITE_PATH" "INSERT INTO meter_rollups VALUES
    ('$Q_TENANT','$DB',$minute,0,'$period',2,5,5,100,50,0)"
  check usage-daily-seeded test "$(usage_of limits.daily_commands.used)" = 5
  check usage-remaining test "$(usage_of limits.daily_commands.remaining)" = 2
  check usage-bandwidth-seeded test "$(usage_of limits.monthly_bandwidth_bytes.used)" = 150
fi

tok=$(tg token create --db "$DB" --ttl 1h --rate-limit 50)
claims=$(cut -d. -f2 <<<"$tok" | tr '_-' '/+' | base64 -d 2>/dev/null)
check token-rate-limit-claim grep -q '"rate_limit":50' <<<"$claims"
check token-rate-limit-bad sh -c \
  "'$TG_BIN' token create --db '$DB' --rate-limit 0 2>/dev/null; test \$? = 2"
check usage-unknown-db sh -c "! '$TG_BIN' db usage --db db_nope 2>/dev/null"
