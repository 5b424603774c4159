#!/usr/bin/env bash
# The full test suite: formatting, vet, staticcheck, the arm64 assembly's
# tests under qemu-user, every test with the race detector (fuzz seed
# corpora included) against real PostgreSQL, MariaDB and Redis servers,
# and the Vault integration tests of the nested vaultit module against
# Vault's in-process test cluster.
#
# It uses PostgreSQL on 127.0.0.1:5432, MariaDB on 127.0.0.1:3306 and Redis
# on 127.0.0.1:6379 when they answer; otherwise it starts installed
# servers, or installs them from Debian's packages and runs throwaway
# instances on loopback. Go modules
# come through the Go module proxy. Safe to run on a fresh machine and in CI.
set -euo pipefail
cd "$(dirname "$0")/.."

STATICCHECK_VERSION=v0.8.2
PG_PORT=${GMFIELD_PG_PORT:-5432}
MY_PORT=${GMFIELD_MYSQL_PORT:-3306}
REDIS_PORT=${GMFIELD_REDIS_PORT:-6379}
SCRATCH=${TMPDIR:-/tmp}/gmfield-test-services
# Examples in nested modules (they bring an SDK or an ORM the library
# does not depend on): vetted, checked and tested like the main module.
NESTED_EXAMPLES="examples/observability examples/ent"

step() { printf '\n== %s\n' "$*"; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
apt_ready=
apt_install() {
	if [ -z "$apt_ready" ]; then
		as_root apt-get update -qq
		apt_ready=1
	fi
	DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "$@" >/dev/null
}
wait_for() { # wait_for SECONDS COMMAND...
	local n=$(($1 * 4)); shift
	for _ in $(seq "$n"); do "$@" >/dev/null 2>&1 && return 0; sleep 0.25; done
	return 1
}

pg_up() { psql "host=127.0.0.1 port=$PG_PORT user=postgres dbname=test" -tAc 'select 1' >/dev/null 2>&1; }
start_postgres() {
	pg_up && return 0
	command -v psql >/dev/null || apt_install postgresql-client
	if [ -d /etc/postgresql ] && [ "$PG_PORT" = 5432 ]; then
		pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start 2>/dev/null || true
		wait_for 20 pg_up && return 0
	fi
	local bin
	bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
	if [ -z "$bin" ]; then
		apt_install postgresql
		bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
	fi
	echo "starting a throwaway PostgreSQL on 127.0.0.1:$PG_PORT"
	local data="$SCRATCH/pg"
	as_root rm -rf "$data"; as_root mkdir -p "$data"; as_root chown postgres "$data" 2>/dev/null || true
	local run=(); [ "$(id -u)" = 0 ] && run=(su postgres -s /bin/sh -c)
	if [ ${#run[@]} -gt 0 ]; then
		"${run[@]}" "$bin/initdb -D $data -A trust -U postgres >/dev/null"
		"${run[@]}" "$bin/pg_ctl -D $data -l $data/log -o '-p $PG_PORT -k $data -c listen_addresses=127.0.0.1' start >/dev/null"
	else
		"$bin/initdb" -D "$data" -A trust -U postgres >/dev/null
		"$bin/pg_ctl" -D "$data" -l "$data/log" -o "-p $PG_PORT -k $data -c listen_addresses=127.0.0.1" start >/dev/null
	fi
	wait_for 30 psql "host=127.0.0.1 port=$PG_PORT user=postgres dbname=postgres" -tAc 'select 1'
	psql "host=127.0.0.1 port=$PG_PORT user=postgres dbname=postgres" -qc 'CREATE DATABASE test' 2>/dev/null || true
	pg_up
}

my_up() { mariadb -h 127.0.0.1 -P "$MY_PORT" -uroot -e 'select 1' test >/dev/null 2>&1 || mysql -h 127.0.0.1 -P "$MY_PORT" -uroot -e 'select 1' test >/dev/null 2>&1; }
start_mariadb() {
	my_up && return 0
	if [ -x /usr/sbin/mariadbd ] && [ "$MY_PORT" = 3306 ]; then
		start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd 2>/dev/null || true
		wait_for 30 my_up && return 0
	fi
	[ -x /usr/sbin/mariadbd ] || apt_install mariadb-server mariadb-client
	echo "starting a throwaway MariaDB on 127.0.0.1:$MY_PORT"
	local data="$SCRATCH/mariadb"
	rm -rf "$data"; mkdir -p "$data"
	mariadb-install-db --no-defaults --datadir="$data" --user="$(id -un)" --auth-root-authentication-method=normal >/dev/null
	/usr/sbin/mariadbd --no-defaults --datadir="$data" --user="$(id -un)" --bind-address=127.0.0.1 --port="$MY_PORT" \
		--socket="$data/mysqld.sock" --pid-file="$data/mysqld.pid" --log-error="$data/error.log" &
	wait_for 60 mariadb -h 127.0.0.1 -P "$MY_PORT" -uroot -e 'select 1'
	mariadb -h 127.0.0.1 -P "$MY_PORT" -uroot -e 'CREATE DATABASE IF NOT EXISTS test'
	my_up
}

redis_up() { (exec 3<>"/dev/tcp/127.0.0.1/$REDIS_PORT" && printf 'PING\r\n' >&3 && read -r -t 2 line <&3 && [ "${line%$'\r'}" = "+PONG" ]) 2>/dev/null; }
start_redis() {
	redis_up && return 0
	command -v redis-server >/dev/null || apt_install redis-server
	echo "starting a throwaway Redis on 127.0.0.1:$REDIS_PORT"
	local data="$SCRATCH/redis"
	rm -rf "$data"; mkdir -p "$data"
	redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --dir "$data" --save '' --appendonly no --daemonize yes \
		--logfile "$data/redis.log" --pidfile "$data/redis.pid" >/dev/null
	wait_for 20 redis_up
}

step "go $(go env GOVERSION), modules"
go mod download
go mod verify
(cd vaultit && go mod download)
for m in $NESTED_EXAMPLES; do (cd "$m" && go mod download && go mod verify); done

step "gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './.git/*'))
if [ -n "$unformatted" ]; then
	echo "gofmt needed on:"; echo "$unformatted"; exit 1
fi

step "go vet"
go vet ./...
for m in $NESTED_EXAMPLES; do (cd "$m" && go vet ./...); done

step "pure Go: CGO_ENABLED=0 builds for linux/amd64, linux/arm64 (Kunpeng, Phytium), linux/loong64 (Loongson)"
for arch in amd64 arm64 loong64; do
	CGO_ENABLED=0 GOOS=linux GOARCH=$arch go build -o /dev/null ./...
	echo "linux/$arch: ok"
done
echo "the cgo parser (build tag pgquery_cgo) type-checks:"
go vet -tags pgquery_cgo ./sqldriver/pgdialect/

step "arm64 assembly (GHASH with PMULL) under qemu-user: crypto/internal/ghash and crypto"
# qemu's default CPU has PMULL; GMFIELD_TEST_GHASH_ACCELERATED makes the
# ghash tests fail if the assembly did not run. About a minute.
command -v qemu-aarch64-static >/dev/null || apt_install qemu-user-static
GOARCH=arm64 go vet ./crypto/internal/ghash
GMFIELD_TEST_GHASH_ACCELERATED=1 CGO_ENABLED=0 GOARCH=arm64 \
	go test -count=1 -exec qemu-aarch64-static ./crypto/internal/ghash ./crypto

step "staticcheck ${STATICCHECK_VERSION}"
go run "honnef.co/go/tools/cmd/staticcheck@${STATICCHECK_VERSION}" ./...
for m in $NESTED_EXAMPLES; do (cd "$m" && go run "honnef.co/go/tools/cmd/staticcheck@${STATICCHECK_VERSION}" ./...); done

step "tools of the independent vector check (python3-cryptography, openssl, unicode-data) and of docs/evidence.md (sqlite3, jq, xxd)"
command -v openssl >/dev/null || apt_install openssl
command -v sqlite3 >/dev/null || apt_install sqlite3
command -v jq >/dev/null || apt_install jq
command -v xxd >/dev/null || apt_install xxd
python3 -c 'import cryptography.hazmat.primitives.ciphers.aead' 2>/dev/null || apt_install python3 python3-cryptography
[ -f /usr/share/unicode/UnicodeData.txt ] || apt_install unicode-data
export GMFIELD_TEST_INDEPENDENT=1

step "PostgreSQL, MariaDB and Redis"
start_postgres
start_mariadb
start_redis
export GMFIELD_TEST_REDIS_ADDR="127.0.0.1:${REDIS_PORT}"
export GMFIELD_TEST_PG_DSN="postgres://postgres@127.0.0.1:${PG_PORT}/test?sslmode=disable"
export GMFIELD_TEST_MYSQL_DSN="root@tcp(127.0.0.1:${MY_PORT})/test"
echo "GMFIELD_TEST_PG_DSN=$GMFIELD_TEST_PG_DSN"
echo "GMFIELD_TEST_MYSQL_DSN=$GMFIELD_TEST_MYSQL_DSN"
echo "GMFIELD_TEST_REDIS_ADDR=$GMFIELD_TEST_REDIS_ADDR"

log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0

step "go test -race ./..."
go test -race -count=1 ./... 2>&1 | tee -a "$log" || status=1

step "examples in nested modules: go test -race ($NESTED_EXAMPLES)"
for m in $NESTED_EXAMPLES; do (cd "$m" && go test -race -count=1 ./...) 2>&1 | tee -a "$log" || status=1; done

step "Vault integration: go test -race in vaultit (Vault's in-process test cluster; the devvault walkthrough of docs/keys.md)"
# A cold build of Vault takes about 7 minutes with -race; warm, seconds.
(cd vaultit && go test -race -count=1 ./...) 2>&1 | tee -a "$log" || status=1

passed=$(grep -c '^ok ' "$log" || true)
failed=$(grep -cE '^FAIL[[:space:]]' "$log" || true)
echo "packages: ${passed} passed, ${failed} failed"
exit "$status"
