#!/bin/sh
# migrate-1m.sh: seal a 1,000,000-row plaintext table (three protected
# columns, two blind indexes) on PostgreSQL with `gmfield migrate`, and
# report its rate and peak RSS (docs/performance.md).
#
#   GMFIELD_TEST_PG_DSN=postgres://postgres@127.0.0.1:5432/test?sslmode=disable scripts/migrate-1m.sh [ROWS]
set -eu
dsn=${GMFIELD_TEST_PG_DSN:?set GMFIELD_TEST_PG_DSN}
rows=${1:-1000000}
dir=$(mktemp -d)
trap 'rm -rf "$dir"; psql -q "$dsn" -c "DROP TABLE IF EXISTS citizen_1m; DROP TABLE IF EXISTS gmfield_jobs" >/dev/null 2>&1 || true' EXIT
go build -o "$dir/gmfield" ./cmd/gmfield
"$dir/gmfield" keyring init --dir "$dir/keys" --kek sm4 >/dev/null 2>&1
cat > "$dir/gmfield.yaml" <<EOF
keyring: {provider: local-sm4, dir: ./keys}
dialect: postgres
tables:
  citizen_1m:
    row_key: id
    columns:
      id_no: {mask: id_card, max_len: 18, index: {id_no_bidx: full}}
      phone: {mask: mobile, max_len: 20, index: {phone_bidx: full}}
      name:  {mask: chinese_name, max_len: 40}
roles:
  admin: {default: plain}
EOF
psql -q "$dsn" <<EOF
DROP TABLE IF EXISTS citizen_1m;
DROP TABLE IF EXISTS gmfield_jobs;
CREATE TABLE citizen_1m (id bigint PRIMARY KEY, id_no varchar(18), phone varchar(20), name varchar(40), city varchar(20));
INSERT INTO citizen_1m SELECT g, '110105' || lpad(g::text, 12, '0'), '138' || lpad(g::text, 8, '0'), '张' || g, 'bj'
  FROM generate_series(1, $rows) g;
VACUUM ANALYZE citizen_1m;
EOF
"$dir/gmfield" ddl --config "$dir/gmfield.yaml" --dsn "$dsn" | psql -q "$dsn"
/usr/bin/time -v "$dir/gmfield" migrate --config "$dir/gmfield.yaml" --dsn "$dsn" --json >"$dir/sum.json" 2>"$dir/time.txt"
elapsed=$(sed -n 's/.*"elapsed_ns": \([0-9]*\).*/\1/p' "$dir/sum.json")
changed=$(sed -n 's/.*"changed": \([0-9]*\).*/\1/p' "$dir/sum.json")
rss=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$dir/time.txt")
echo "rows changed: $changed"
echo "elapsed: $((elapsed / 1000000)) ms"
echo "rows/s: $((changed * 1000000000 / elapsed))"
echo "peak RSS: $((rss / 1024)) MiB"
"$dir/gmfield" verify --config "$dir/gmfield.yaml" --dsn "$dsn" --sample 1000 | head -2
