package sqldriver_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gmfield/gmfield/masking"
	"github.com/gmfield/gmfield/sqldriver"
)

// The attack suite of issue 10: statements written against the public API
// in the spirit of the hostile suite's twelve classes, with variations,
// run on every database. Each one is either refused (ErrRefused), or may
// run but must leave the invariants whole, checked after every attack:
//   - the marker values an attack tries to store never reach the
//     database in plaintext, in any column of any table;
//   - a role that may not see a protected column or search it gets no
//     ciphertext, no blind index and no plaintext of it;
//   - no error names the marker (refusals name positions, tables and
//     columns, never SQL text);
//   - nothing panics or recurses without bound (the test would crash).

const (
	marker  = "19955554444" // a phone number no seeded row holds
	marker2 = "MARKXQZ"
)

// longTable is a protected table whose name is 63 bytes, PostgreSQL's
// identifier limit: a 64-byte name is truncated to it (class 5).
var longTable = "t" + strings.Repeat("l", 62)

var attackConfig = strings.Replace(testConfig, "\nroles:", "\n  "+longTable+":\n    columns:\n      secret: {mask: redact}\nroles:", 1)

type outcome int

const (
	refused outcome = iota // must fail with ErrRefused
	safe                   // may run; the invariants must hold
)

type attack struct {
	class int
	on    string // "all", or some of "sqlite pg mysql"
	q     string // "{S}": the schema (database) name; "{LONG}": longTable
	args  []any
	role  string // "" is admin
	want  outcome
}

var attacks = []attack{
	// 1. A CTE named like the target table.
	{1, "all", `WITH citizen AS (SELECT 1 AS x) INSERT INTO citizen (id, phone) VALUES (50, '` + marker + `')`, nil, "", refused},
	{1, "sqlite pg", `WITH citizen AS (SELECT 1 AS x) UPDATE citizen SET phone = '` + marker + `'`, nil, "", refused},
	{1, "sqlite pg", `WITH Citizen AS (SELECT 1 AS x) UPDATE CITIZEN SET phone = '` + marker + `' WHERE id = 1`, nil, "", refused},
	{1, "sqlite pg", `WITH "citizen" AS (SELECT 1 AS x) INSERT INTO citizen (id, phone) VALUES (51, '` + marker + `')`, nil, "", refused},
	{1, "sqlite pg", `WITH RECURSIVE citizen(id, phone) AS (SELECT 52, '` + marker + `') INSERT INTO citizen (id, phone) SELECT id, phone FROM citizen`, nil, "", refused},
	{1, "sqlite pg", `WITH x AS (SELECT 1) DELETE FROM citizen WHERE id IN (SELECT 1 FROM x) AND phone = '` + marker + `'`, nil, "", safe},
	{1, "mysql", `UPDATE (WITH citizen AS (SELECT 1 AS a) SELECT a FROM citizen UNION SELECT 2) x, citizen SET citizen.phone = '` + marker + `' WHERE citizen.id = 1`, nil, "", refused},
	{1, "mysql", `UPDATE citizen, (WITH citizen AS (SELECT 1 AS a) SELECT a FROM citizen) x SET citizen.phone = '` + marker + `' WHERE citizen.id = 1`, nil, "", refused},
	{1, "all", `INSERT INTO citizen (id, phone) VALUES (53, (WITH citizen AS (SELECT '` + marker + `' AS phone) SELECT phone FROM citizen))`, nil, "", refused},
	{1, "pg", `WITH x AS (INSERT INTO citizen (id, phone) VALUES (54, '` + marker + `') RETURNING id) SELECT id FROM x`, nil, "", safe},
	{1, "pg", `WITH x AS (UPDATE citizen SET phone = '` + marker + `' RETURNING id) SELECT id FROM x`, nil, "", refused},

	// 2. Lexer differentials.
	{2, "all", "UPDATE citizen SET note = 'x' /* /* */ , phone = '" + marker + "' -- */\nWHERE id = 1", nil, "", safe},
	{2, "mysql", "UPDATE citizen SET note = 'x' /*M! , phone = '" + marker + "' */ WHERE id = 1", nil, "", refused},
	{2, "mysql", "UPDATE citizen SET note = 'x' /*m! , phone = '" + marker + "' */ WHERE id = 1", nil, "", refused},
	{2, "mysql", "UPDATE citizen SET note = 'x' /*!50000 , phone = '" + marker + "' */ WHERE id = 1", nil, "", refused},
	{2, "mysql", "UPDATE citizen SET note = 'x' /*M!100000 , phone = '" + marker + "' */ WHERE id = 1", nil, "", refused},
	{2, "pg mysql", `UPDATE citizen SET note = 'a\', phone = '` + marker + `' -- '` + "\nWHERE id = 1", nil, "", refused},
	{2, "sqlite", `UPDATE citizen SET note = 'a\', phone = '` + marker + `' -- '` + "\nWHERE id = 1", nil, "", safe},
	{2, "mysql", `UPDATE citizen SET note = "x", phone = '` + marker + `' WHERE id = 1`, nil, "", refused},
	{2, "mysql", `UPDATE citizen SET note = 'x' || '` + marker + `' WHERE id = 1`, nil, "", refused},
	{2, "pg", `UPDATE citizen SET note = E'a\'', phone = '` + marker + `' WHERE id = 1`, nil, "", safe},
	{2, "pg", `UPDATE citizen SET note = $$x$$, phone = '` + marker + `' WHERE id = 1`, nil, "", safe},
	{2, "sqlite", `UPDATE citizen SET note = $$x$$, phone = '` + marker + `' WHERE id = 1`, nil, "", refused},
	{2, "sqlite", `UPDATE citizen SET note = E'x', phone = '` + marker + `' WHERE id = 1`, nil, "", refused},
	{2, "sqlite", "UPDATE citizen SET note = 'x' -- \r, phone = '" + marker + "'\nWHERE id = 1", nil, "", refused},
	{2, "mysql", "UPDATE citizen SET note = 'x' # , phone = '" + marker + "'\nWHERE id = 1", nil, "", safe},
	{2, "mysql", "UPDATE citizen SET note = 'x' --, phone = '" + marker + "'\nWHERE id = 1", nil, "", safe},
	{2, "pg", `INSERT INTO U&"\0063itizen" (id, phone) VALUES (55, '` + marker + `')`, nil, "", safe},
	{2, "pg", `INSERT INTO citizen (id, U&"\0070hone") VALUES (56, '` + marker + `')`, nil, "", safe},
	{2, "pg", `INSERT INTO citizen (id, phone) VALUES (57, U&'\0031` + marker[1:] + `')`, nil, "", safe},
	{2, "pg", `COMMENT ON COLUMN U&"\0063itizen".phone IS '` + marker + `'`, nil, "", refused},
	{2, "all", "INSERT\tINTO\ncitizen(id,phone)VALUES(58,'" + marker + "')", nil, "", safe},
	{2, "mysql", "INSERT INTO `citizen` (id, `PHONE`) VALUES (59, '" + marker + "')", nil, "", safe},
	{2, "sqlite", `INSERT INTO "CITIZEN" (id, "PHONE") VALUES (60, '` + marker + `')`, nil, "", safe},
	{2, "all", `INSERT INTO CITIZEN (ID, PHONE) VALUES (61, '` + marker + `')`, nil, "", safe},
	{2, "pg mysql", `INSERT INTO {S}.citizen (id, phone) VALUES (62, '` + marker + `')`, nil, "", safe},
	{2, "sqlite", `INSERT INTO main.citizen (id, phone) VALUES (62, '` + marker + `')`, nil, "", safe},
	{2, "sqlite", `INSERT INTO citizen (id, [phone]) VALUES (63, '` + marker + `')`, nil, "", refused},
	{2, "mysql", `INSERT INTO citizen (id, phone) VALUES (64, 0x3139393535353534343434)`, nil, "", refused},
	{2, "mysql", `INSERT INTO citizen (id, phone) VALUES (65, X'3139393535353534343434')`, nil, "", refused},
	{2, "sqlite", `INSERT INTO citizen (id, phone) VALUES (65, x'3139393535353534343434')`, nil, "", refused},
	{2, "mysql", `INSERT INTO citizen (id, phone) VALUES (66, _utf8mb4'` + marker + `')`, nil, "", safe},
	{2, "mysql", `INSERT INTO citizen (id, phone) VALUES (67, N'` + marker + `')`, nil, "", safe},

	// 3. SQL carried in strings.
	{3, "pg", `DO $$ BEGIN INSERT INTO citizen (id, phone) VALUES (70, '` + marker + `'); END $$`, nil, "", refused},
	{3, "pg", `DO $$ BEGIN EXECUTE 'INSERT INTO ' || 'citi' || 'zen (id, phone) VALUES (71, ''` + marker + `'')'; END $$`, nil, "", refused},
	{3, "pg", `CREATE FUNCTION gmf_f() RETURNS void AS $$ INSERT INTO citizen (id, phone) VALUES (72, '` + marker + `') $$ LANGUAGE sql`, nil, "", refused},
	{3, "pg", `CREATE FUNCTION gmf_g() RETURNS void AS $$ BEGIN EXECUTE 'INSERT INTO ' || 'citi' || 'zen (id, phone) VALUES (73, ''` + marker + `'')'; END $$ LANGUAGE plpgsql`, nil, "", refused},
	{3, "pg", `CREATE PROCEDURE gmf_p() LANGUAGE sql AS $$ INSERT INTO citizen (id, phone) VALUES (74, '` + marker + `') $$`, nil, "", refused},
	{3, "pg", `SELECT query_to_xml('SELECT phone FROM citizen', true, false, '')`, nil, "default", refused},
	{3, "pg", `SELECT query_to_xml('SELECT phone FROM ' || 'citi' || 'zen', true, false, '')`, nil, "default", refused},
	{3, "pg", `SELECT * FROM dblink('dbname=test', 'INSERT INTO citizen (id, phone) VALUES (75, ''` + marker + `'')') AS t(x text)`, nil, "", refused},
	{3, "pg", `PREPARE gmf_s AS INSERT INTO citizen (id, phone) VALUES ($1, $2)`, nil, "", refused},
	{3, "mysql", `PREPARE gmf_s FROM 'INSERT INTO citizen (id, phone) VALUES (76, ''` + marker + `'')'`, nil, "", refused},
	{3, "mysql", `PREPARE gmf_s FROM CONCAT('INSERT INTO citi', 'zen (id, phone) VALUES (77, ''` + marker + `'')')`, nil, "", refused},
	{3, "mysql", `CREATE PROCEDURE gmf_p() INSERT INTO citizen (id, phone) VALUES (78, '` + marker + `')`, nil, "", refused},
	{3, "mysql", `CREATE TRIGGER gmf_t AFTER INSERT ON orders FOR EACH ROW INSERT INTO citizen (id, phone) VALUES (NEW.id + 1000, NEW.item)`, nil, "", refused},
	{3, "pg", `CREATE RULE gmf_r AS ON INSERT TO orders DO ALSO INSERT INTO citizen (id, phone) VALUES (NEW.id + 1000, NEW.item)`, nil, "", refused},
	{3, "sqlite", `CREATE TRIGGER gmf_t AFTER INSERT ON orders BEGIN INSERT INTO citizen (id, phone) VALUES (NEW.id + 1000, NEW.item); END`, nil, "", refused},

	// 4. Schema statements that carry values.
	{4, "pg", `ALTER TABLE citizen ALTER COLUMN note TYPE text USING '` + marker + `'`, nil, "", refused},
	{4, "pg mysql", `ALTER TABLE citizen ALTER COLUMN note SET DEFAULT '` + marker + `'`, nil, "", refused},
	{4, "pg", `CREATE TABLE gmf_child () INHERITS (citizen)`, nil, "", refused},
	{4, "pg mysql", `ALTER TABLE citizen DROP COLUMN note, ADD COLUMN note TEXT DEFAULT '` + marker + `'`, nil, "", refused},
	{4, "all", `ALTER TABLE citizen ADD COLUMN phone_last4_bidx TEXT DEFAULT '` + marker + `'`, nil, "", refused},
	{4, "all", `ALTER TABLE citizen RENAME COLUMN phone TO phone_old`, nil, "", refused},
	{4, "all", `ALTER TABLE citizen RENAME TO citizen_old`, nil, "", refused},
	{4, "all", `CREATE TABLE gmf_copy AS SELECT * FROM citizen`, nil, "", refused},
	{4, "all", `CREATE VIEW gmf_v AS SELECT phone FROM citizen`, nil, "", refused},
	{4, "pg mysql", `ALTER TABLE citizen ADD CONSTRAINT gmf_c CHECK (phone <> '` + marker + `')`, nil, "", refused},
	{4, "pg", `COMMENT ON COLUMN citizen.phone IS '` + marker + `'`, nil, "", refused},
	{4, "pg mysql", `ALTER TABLE citizen ADD COLUMN gmf_gen TEXT GENERATED ALWAYS AS (phone) STORED`, nil, "", refused},
	{4, "all", `CREATE INDEX gmf_ix ON citizen (phone_bidx)`, nil, "", safe},
	{4, "pg", `CREATE TEMP TABLE citizen (id int, phone text)`, nil, "", safe},
	{4, "pg", `GRANT SELECT (phone) ON citizen TO PUBLIC`, nil, "", refused},
	{4, "mysql", `ALTER TABLE citizen MODIFY note TEXT DEFAULT ('` + marker + `')`, nil, "", refused},
	{4, "mysql", `ALTER TABLE citizen CHANGE note note TEXT DEFAULT ('` + marker + `')`, nil, "", refused},
	{4, "pg", `COPY citizen (id, phone) FROM STDIN`, nil, "", refused},
	{4, "pg", `COPY citizen TO STDOUT`, nil, "default", refused},
	{4, "pg", `MERGE INTO citizen c USING (SELECT 79 AS id) s ON c.id = s.id WHEN NOT MATCHED THEN INSERT (id, phone) VALUES (s.id, '` + marker + `')`, nil, "", refused},

	// 5. The pre-filter is at least as inclusive as the server.
	{5, "pg", `INSERT INTO {LONG}_x (secret) VALUES ('` + marker + `')`, nil, "", safe},
	{5, "pg", `INSERT INTO "{LONG}_x" (secret) VALUES ('` + marker + `')`, nil, "", safe},
	{5, "pg", `UPDATE {LONG}xyz SET secret = '` + marker + `'`, nil, "", safe},
	{5, "pg", `COMMENT ON TABLE {LONG}_x IS '` + marker + `'`, nil, "", refused},

	// 6. Index columns through expressions, for a role that may not search.
	{6, "all", `SELECT lower(phone_bidx) FROM citizen`, nil, "default", refused},
	{6, "pg mysql", `SELECT concat(phone_bidx, '') FROM citizen`, nil, "default", refused},
	{6, "all", `SELECT (SELECT phone_bidx FROM citizen WHERE id = 1)`, nil, "default", refused},
	{6, "all", `SELECT phone_bidx FROM citizen UNION SELECT item FROM orders`, nil, "default", refused},
	{6, "all", `SELECT item FROM orders UNION ALL SELECT phone_last4_bidx FROM citizen`, nil, "default", refused},
	{6, "all", `SELECT max(phone_bidx) FROM citizen`, nil, "default", refused},
	{6, "pg mysql sqlite", `SELECT row_number() OVER (ORDER BY phone_bidx) FROM citizen`, nil, "default", refused},
	{6, "sqlite pg", `INSERT INTO citizen (id, phone) VALUES (80, ?) RETURNING phone_bidx || ''`, []any{"13800000080"}, "default", refused},
	{6, "all", `SELECT id FROM citizen WHERE phone_bidx = (SELECT phone_bidx FROM citizen WHERE id = 1)`, nil, "default", refused},
	{6, "all", `SELECT a.id FROM citizen a JOIN citizen b ON a.phone_bidx = b.phone_bidx WHERE b.id = 1`, nil, "default", refused},
	{6, "all", `SELECT phone_bidx, count(*) FROM citizen GROUP BY phone_bidx`, nil, "default", refused},
	{6, "all", `SELECT count(*) FROM citizen GROUP BY phone_bidx`, nil, "default", refused},
	{6, "all", `SELECT count(DISTINCT phone_bidx) FROM citizen`, nil, "default", refused},
	{6, "all", `SELECT id FROM citizen WHERE phone_last4_bidx IN (SELECT phone_last4_bidx FROM citizen WHERE id = 2)`, nil, "default", refused},
	{6, "all", `SELECT id FROM citizen ORDER BY phone_bidx`, nil, "default", refused},
	{6, "all", `SELECT id FROM citizen c WHERE EXISTS (SELECT 1 FROM citizen d WHERE d.phone_bidx = c.phone_bidx AND d.id <> c.id)`, nil, "default", refused},
	{6, "all", `UPDATE citizen SET city = 'x' WHERE phone_bidx = ?`, []any{"00"}, "default", refused},
	{6, "all", `DELETE FROM citizen WHERE phone_bidx IN (SELECT phone_bidx FROM citizen WHERE id = 2)`, nil, "default", refused},
	{6, "all", `SELECT id FROM citizen WHERE phone = ?`, []any{"13800138000"}, "default", refused},
	{6, "all", `SELECT * FROM citizen`, nil, "default", safe},
	{6, "all", `SELECT c.*, o.item FROM citizen c JOIN orders o ON o.citizen_id = c.id`, nil, "default", safe},
	{6, "all", `SELECT CASE WHEN phone_bidx IS NULL THEN 0 ELSE 1 END FROM citizen`, nil, "default", refused},
	{6, "all", `SELECT id FROM orders WHERE item IN (SELECT phone_bidx FROM citizen)`, nil, "default", refused},

	// 7. Whole-row and attribute references.
	{7, "pg", `SELECT c FROM citizen c`, nil, "clerk", refused},
	{7, "pg", `SELECT citizen FROM citizen`, nil, "clerk", refused},
	{7, "pg", `SELECT row_to_json(c) FROM citizen c`, nil, "clerk", refused},
	{7, "pg", `SELECT to_jsonb(citizen) FROM citizen`, nil, "clerk", refused},
	{7, "pg", `SELECT c::text FROM citizen c`, nil, "clerk", refused},
	{7, "pg", `SELECT (c).phone FROM citizen c`, nil, "clerk", refused},
	{7, "pg", `SELECT (c.*)::text FROM citizen c`, nil, "clerk", refused},
	{7, "pg", `SELECT phone(c) FROM citizen c`, nil, "clerk", refused},
	{7, "pg sqlite", `SELECT t.a, t.d FROM citizen AS t(a, b, c, d)`, nil, "clerk", refused},
	{7, "pg", `SELECT id FROM citizen c WHERE c IS NOT NULL`, nil, "clerk", refused},
	{7, "pg", `SELECT count(c) FROM citizen c`, nil, "clerk", refused},
	{7, "mysql", `SELECT json_object('p', phone) FROM citizen`, nil, "clerk", refused},
	{7, "all", `SELECT phone || '' FROM citizen`, nil, "clerk", refused},
	{7, "all", `SELECT substr(phone, 1, 100) FROM citizen`, nil, "clerk", refused},
	{7, "all", `SELECT length(phone) FROM citizen`, nil, "default", refused},
	{7, "all", `SELECT id FROM citizen WHERE phone IN (SELECT phone FROM citizen)`, nil, "clerk", refused},
	{7, "all", `SELECT c1.id FROM citizen c1 JOIN citizen c2 USING (phone)`, nil, "clerk", refused},
	{7, "all", `SELECT name AS phone, phone AS name FROM citizen`, nil, "clerk", safe},
	{7, "all", `SELECT id FROM citizen AS phone`, nil, "clerk", safe},
	{7, "all", `SELECT * FROM citizen`, nil, "guard", refused},

	// 8. Parser differentials on reads.
	{8, "all", "SELECT id /* /* */ , phone -- */\nFROM citizen", nil, "default", safe},
	{8, "mysql", "SELECT id /*M!, phone */ FROM citizen", nil, "default", refused},
	{8, "mysql", "SELECT id /*!, phone */ FROM citizen", nil, "default", refused},
	{8, "mysql", "SELECT id /*+ , phone */ FROM citizen", nil, "default", refused},
	{8, "sqlite", "SELECT id -- \r, phone\nFROM citizen", nil, "default", refused},

	// 9. No input crashes the process.
	{9, "pg mysql", `TABLE citizen`, nil, "default", safe},
	{9, "all", `SELECT id FROM orders WHERE id IN (SELECT id FROM citizen)`, nil, "default", safe},
	{9, "mysql", `SELECT id FROM orders WHERE id IN (TABLE citizen)`, nil, "default", refused},
	{9, "mysql", `VALUES ROW(1)`, nil, "default", safe},
	{9, "pg sqlite", `VALUES (1)`, nil, "default", safe},
	{9, "all", `SELECT ` + strings.Repeat("(", 3000) + `1` + strings.Repeat(")", 3000) + ` FROM citizen`, nil, "default", safe},
	{9, "all", `SELECT id FROM citizen WHERE id IN ` + strings.Repeat("(SELECT id FROM citizen WHERE id IN ", 200) + `(1)` + strings.Repeat(")", 200), nil, "default", safe},
	{9, "all", `SELECT id FROM citizen WHERE ` + strings.Repeat("NOT ", 5000) + `id = 1`, nil, "default", safe},

	// 10. Searches the ciphertext cannot answer.
	{10, "mysql", `SELECT id FROM citizen WHERE MATCH(phone) AGAINST ('139')`, nil, "", refused},
	{10, "mysql", `SELECT id FROM citizen WHERE MATCH(phone) AGAINST ('139' IN BOOLEAN MODE)`, nil, "", refused},
	{10, "pg", `SELECT id FROM citizen WHERE to_tsvector(phone) @@ to_tsquery('139')`, nil, "", refused},
	{10, "pg", `SELECT id FROM citizen WHERE phone SIMILAR TO '139%'`, nil, "", refused},
	{10, "pg", `SELECT id FROM citizen WHERE phone ~ '^139'`, nil, "", refused},
	{10, "mysql", `SELECT id FROM citizen WHERE phone REGEXP '^139'`, nil, "", refused},
	{10, "sqlite", `SELECT id FROM citizen WHERE phone GLOB '139*'`, nil, "", refused},
	{10, "all", `SELECT id FROM citizen WHERE phone LIKE '%12'`, nil, "", refused},
	{10, "all", `SELECT id FROM citizen WHERE phone LIKE '%12345'`, nil, "", refused},
	{10, "all", `SELECT id FROM citizen WHERE phone LIKE ?`, []any{"%12"}, "", refused},

	// 11. Refusals never quote the statement.
	{11, "all", `SELEKT phone FROM citizen WHERE note = '` + marker + `'`, nil, "", refused},
	{11, "all", `INSERT INTO citizen (id, phone) VALUES (81, '` + marker + `'`, nil, "", refused},
	{11, "all", `INSERT INTO citizen (id, phone) VALUES (81, '` + marker + `') garbage '` + marker + `'`, nil, "", refused},

	// Plaintext at rest, more ways.
	{0, "all", `INSERT INTO citizen (id, phone) VALUES (90, '` + marker + `'), (91, '` + marker + `')`, nil, "", safe},
	{0, "all", `INSERT INTO citizen (id, phone) VALUES (92, CAST('` + marker + `' AS CHAR(11)))`, nil, "", refused},
	{0, "pg sqlite", `INSERT INTO citizen (id, phone) VALUES (93, '199' || '55554444')`, nil, "", refused},
	{0, "all", `INSERT INTO citizen (id, phone) VALUES (94, (SELECT '` + marker + `'))`, nil, "", refused},
	{0, "all", `INSERT INTO citizen (id, phone) SELECT 95, '` + marker + `'`, nil, "", refused},
	{0, "pg sqlite", `INSERT INTO citizen (id, phone) VALUES (96, ?) ON CONFLICT (id) DO UPDATE SET phone = '` + marker + `'`, []any{"13800000096"}, "", safe},
	{0, "pg sqlite", `INSERT INTO citizen (id, phone) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET phone = excluded.phone || ''`, []any{marker}, "", refused},
	{0, "mysql", `INSERT INTO citizen (id, phone) VALUES (97, '1') ON DUPLICATE KEY UPDATE phone = '` + marker + `'`, nil, "", refused},
	{0, "all", `UPDATE citizen SET phone = '` + marker + `' WHERE id = 1 OR 1 = 1`, nil, "", safe},
	{0, "all", `UPDATE citizen SET phone = CASE WHEN id = 1 THEN '` + marker + `' END WHERE id = 1`, nil, "", refused},
	{0, "pg", `UPDATE citizen c SET phone = '` + marker + `' FROM orders o WHERE c.id = 1 AND o.citizen_id = c.id`, nil, "", safe},
	{0, "mysql", `UPDATE citizen c, orders o SET c.phone = '` + marker + `' WHERE c.id = 1 AND o.citizen_id = c.id`, nil, "", safe},
	{0, "pg", `UPDATE citizen SET (phone, note) = ('` + marker + `', 'x') WHERE id = 1`, nil, "", safe},
	{0, "pg", `UPDATE citizen SET (phone) = (SELECT '` + marker + `') WHERE id = 1`, nil, "", refused},
	{0, "pg", `INSERT INTO citizen (id, phone) VALUES (98, '` + marker + `'::text)`, nil, "", refused},
	{0, "pg", `INSERT INTO citizen (id, phone) VALUES (99, text '` + marker + `')`, nil, "", refused},
	{0, "pg", `INSERT INTO citizen AS c (id, phone) VALUES (100, '` + marker + `')`, nil, "", safe},
	{0, "pg", `INSERT INTO citizen (id, phone) OVERRIDING USER VALUE VALUES (101, '` + marker + `')`, nil, "", safe},
	{0, "mysql", `INSERT INTO citizen SET id = 102, phone = '` + marker + `'`, nil, "", safe},
	{0, "mysql", `INSERT INTO citizen (id, phone) VALUE (103, '` + marker + `')`, nil, "", safe},
	{0, "mysql", `INSERT IGNORE INTO citizen (id, phone) VALUES (104, '` + marker + `')`, nil, "", safe},
	{0, "mysql", `REPLACE INTO citizen (id, phone) VALUES (105, '` + marker + `')`, nil, "", refused},
	{0, "mysql", `LOAD DATA LOCAL INFILE '/dev/null' INTO TABLE citizen (id, phone)`, nil, "", refused},
	{0, "sqlite", `UPDATE OR REPLACE citizen SET phone = '` + marker + `' WHERE id = 1`, nil, "", safe},
	{0, "sqlite", `INSERT INTO citizen (id, phone) VALUES (106, :p)`, []any{sql.Named("p", marker)}, "", refused},
	{0, "all", `UPDATE citizen SET phone = ?, name = ? WHERE id = ?`, []any{marker, marker2, 2}, "", safe},
	{0, "all", `INSERT INTO citizen (id, phone, name) VALUES (?, ?, ?)`, []any{107, marker, marker2}, "", safe},
	{0, "all", `INSERT INTO orders (id, citizen_id, item) SELECT id + 200, id, phone FROM citizen`, nil, "", refused},
	{0, "all", `UPDATE orders SET item = (SELECT phone FROM citizen WHERE id = 1) WHERE id = 10`, nil, "", refused},
	{0, "all", `INSERT INTO ` + longTable + ` (secret) VALUES ('` + marker + `')`, nil, "", safe},

	// Found by the hostile read of this redesign.
	{6, "pg", `SELECT x.phone, x.phone_bidx, x.id_no FROM citizen c, LATERAL (SELECT c.*) x`, nil, "default", refused},
	{6, "pg", `SELECT * FROM citizen c CROSS JOIN LATERAL (SELECT c.*) x`, nil, "default", refused},
	{6, "pg", `SELECT x.id_no FROM citizen c JOIN LATERAL (SELECT c.*, 1 AS one) x ON true`, nil, "guard", refused},
	{6, "pg", `SELECT x.phone FROM citizen c, LATERAL (SELECT * FROM (SELECT c.*) z) x`, nil, "default", refused},
	{6, "pg", `SELECT x.phone FROM citizen, LATERAL (SELECT citizen.* LIMIT 1) x`, nil, "default", refused},
	{6, "all", `SELECT (SELECT nope.phone_bidx) FROM citizen`, nil, "default", refused},
	{6, "mysql", `SELECT @v := phone, @w := phone_bidx FROM citizen WHERE id = 1`, nil, "default", refused},
	{6, "mysql", `SELECT @v := id_no FROM citizen WHERE id = 1`, nil, "guard", refused},
	{6, "mysql", `SELECT id FROM citizen WHERE id = 1 AND (@g := phone) IS NOT NULL`, nil, "default", refused},
	{6, "mysql", `SELECT id FROM citizen ORDER BY (@g := phone_bidx)`, nil, "default", refused},
	{3, "pg", `EXECUTE stmtcache_0(1)`, nil, "default", refused},
	{3, "pg", `EXECUTE gmf_s(1, '` + marker + `')`, nil, "", refused},
	{4, "pg", `ALTER TABLE orders INHERIT citizen`, nil, "", refused},
	{4, "pg", `CREATE TABLE gmf_parent (id bigint) PARTITION BY RANGE (id)`, nil, "", safe},
	{4, "pg", `ALTER TABLE gmf_parent ATTACH PARTITION citizen FOR VALUES FROM (0) TO (1000000)`, nil, "", refused},
	{4, "pg", `ALTER TABLE citizen INHERIT orders`, nil, "", refused},
	{4, "pg", `CREATE TABLE IF NOT EXISTS citizen (LIKE orders INCLUDING DEFAULTS)`, nil, "", refused},
	{4, "pg", `CREATE TABLE IF NOT EXISTS citizen PARTITION OF gmf_parent FOR VALUES FROM (0) TO (10)`, nil, "", refused},
	{6, "pg", `SELECT attname, most_common_vals::text FROM pg_stats WHERE tablename = 'citizen'`, nil, "default", refused},
	{6, "pg", `SELECT * FROM pg_catalog.pg_statistic`, nil, "default", refused},
	{6, "sqlite", `SELECT * FROM sqlite_stat4`, nil, "default", refused},
	{6, "sqlite", `SELECT data FROM sqlite_dbpage`, nil, "default", refused},
	{6, "mysql", `SELECT * FROM information_schema.column_statistics`, nil, "default", refused},
	{6, "mysql", `SELECT * FROM mysql.column_stats`, nil, "default", refused},
	{4, "all", `CREATE UNIQUE INDEX gmf_u ON citizen (id_no_bidx)`, nil, "", safe},
	{6, "pg sqlite", `INSERT INTO citizen (id, id_no) VALUES (1701, '11010519491231002X') ON CONFLICT (id_no_bidx) DO NOTHING RETURNING id`, nil, "default", refused},
	{11, "all", `INSERT INTO citizen (id, id_no) VALUES (1702, '11010519491231002X')`, nil, "", safe},
}

// runs reports whether a runs on backend b.
func (a attack) runs(b backend) bool {
	name := b.name
	if name == "postgres" || name == "libpq" {
		name = "pg"
	}
	return a.on == "all" || strings.Contains(" "+a.on+" ", " "+name+" ")
}

func TestAttacks(t *testing.T) {
	require.GreaterOrEqual(t, len(attacks), 150)
	classes := map[int]int{}
	for _, a := range attacks {
		classes[a.class]++
	}
	for c := 0; c <= 11; c++ {
		assert.NotZero(t, classes[c], "class %d has attacks", c)
	}
	each(t, func(t *testing.T, b backend) {
		raw, db := b.open(t, newConfig(t, attackConfig))
		seed(t, b, db)
		_, err := db.Exec(fmt.Sprintf(`CREATE TABLE %s (id %s, secret %s)`, longTable, b.id, b.text))
		require.NoError(t, err)
		schemaName := currentSchema(t, b, raw)
		leaks := newLeakSet(t, raw)
		ran := 0
		for i, a := range attacks {
			if !a.runs(b) {
				continue
			}
			ran++
			q := strings.NewReplacer("{S}", schemaName, "{LONG}", longTable).Replace(a.q)
			if !strings.Contains(q, "$$") && !strings.Contains(q, "U&") {
				q = b.ph(q)
			}
			role := a.role
			if role == "" {
				role = "admin"
			}
			name := fmt.Sprintf("attack %d (class %d, %s): %.80q", i, a.class, role, q)
			got, err := runAttack(as(role), db.DB, q, a.args)
			if a.want == refused {
				if assert.Error(t, err, name) {
					assert.True(t, errors.Is(err, sqldriver.ErrRefused) || errors.Is(err, masking.ErrDenied), "%s: %v", name, err)
				}
			}
			if err != nil {
				assert.NotContains(t, err.Error(), marker, name)
				assert.NotContains(t, err.Error(), marker2, name)
				leaks.checkError(t, name, err)
			}
			leaks.checkResult(t, name, role, got)
			leaks.checkAtRest(t, name, b, raw)
		}
		assert.GreaterOrEqual(t, ran, 80)
	})
}

// runAttack runs q and returns every value of every row it returned.
func runAttack(ctx context.Context, db *sql.DB, q string, args []any) ([][]byte, error) {
	rows, err := db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	var out [][]byte
	for n := 0; n < 10000 && rows.Next(); n++ {
		vals := make([]sql.RawBytes, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return out, err
		}
		for _, v := range vals {
			if v != nil {
				out = append(out, bytes.Clone(v))
			}
		}
	}
	return out, rows.Err()
}

func currentSchema(t *testing.T, b backend, raw *sql.DB) string {
	var s string
	switch b.name {
	case "sqlite":
		return "main"
	case "mysql":
		require.NoError(t, raw.QueryRow(`SELECT DATABASE()`).Scan(&s))
	default:
		require.NoError(t, raw.QueryRow(`SELECT current_schema()`).Scan(&s))
	}
	return s
}

// leakSet holds what must not reach a role: the stored ciphertexts and
// blind indexes, and the seeded plaintexts.
type leakSet struct {
	stored [][]byte // ciphertexts and indexes in the database
	plain  [][]byte
}

func newLeakSet(t *testing.T, raw *sql.DB) *leakSet {
	l := &leakSet{}
	rows, err := raw.Query(`SELECT id_no, id_no_bidx, phone, phone_bidx, phone_last4_bidx, name, note, photo FROM citizen`)
	require.NoError(t, err)
	defer rows.Close()
	for rows.Next() {
		vals := make([]sql.RawBytes, 8)
		ptrs := make([]any, 8)
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		require.NoError(t, rows.Scan(ptrs...))
		for _, v := range vals {
			if len(v) > 8 {
				l.stored = append(l.stored, bytes.Clone(v))
			}
		}
	}
	require.NoError(t, rows.Err())
	for _, p := range people {
		l.plain = append(l.plain, []byte(p.idNo), []byte(p.phone), []byte(p.name))
	}
	return l
}

// mayRead reports what role may see of citizen's protected columns:
// plaintext (or its mask), and blind indexes.
func mayRead(role string) (plain, index bool) {
	switch role {
	case "admin", "auditor":
		return true, true
	case "clerk", "analyst":
		return false, true
	}
	return false, false
}

func (l *leakSet) checkResult(t *testing.T, name, role string, got [][]byte) {
	t.Helper()
	plain, index := mayRead(role)
	for _, v := range got {
		if role != "admin" {
			assert.False(t, bytes.HasPrefix(v, []byte("gmf2:")) || bytes.HasPrefix(v, []byte("gmf1:")), "%s: ciphertext reached %s", name, role)
			for _, s := range l.stored {
				if bytes.Equal(v, s) && !index {
					assert.Fail(t, "stored ciphertext or index reached the role", "%s: %s", name, role)
				}
			}
		}
		if !plain {
			for _, p := range l.plain {
				assert.False(t, bytes.Contains(v, p), "%s: plaintext reached %s", name, role)
			}
		}
	}
}

// checkError fails if err's message quotes a stored ciphertext or blind
// index (MySQL's duplicate-key error quotes the key).
func (l *leakSet) checkError(t *testing.T, name string, err error) {
	t.Helper()
	for _, s := range l.stored {
		if len(s) >= 16 && strings.Contains(err.Error(), string(s)) {
			assert.Fail(t, "an error quotes a stored value", "%s: %.120s", name, err.Error())
			return
		}
	}
}

// checkAtRest scans every table for the attack markers in plaintext.
func (l *leakSet) checkAtRest(t *testing.T, name string, b backend, raw *sql.DB) {
	t.Helper()
	var list string
	switch b.name {
	case "sqlite":
		list = `SELECT name FROM sqlite_master WHERE type IN ('table', 'view')`
	case "mysql":
		list = `SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE()`
	default:
		list = `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()`
	}
	rows, err := raw.Query(list)
	require.NoError(t, err)
	var tables []string
	for rows.Next() {
		var n string
		require.NoError(t, rows.Scan(&n))
		tables = append(tables, n)
	}
	require.NoError(t, rows.Err())
	rows.Close()
	for _, table := range tables {
		vals, err := runAttack(context.Background(), raw, `SELECT * FROM `+quoteIdent(b, table), nil)
		if err != nil && errors.Is(err, sql.ErrNoRows) {
			continue
		}
		require.NoError(t, err, "%s: reading %s", name, table)
		for _, v := range vals {
			if bytes.Contains(v, []byte(marker)) || bytes.Contains(v, []byte(marker2)) {
				assert.Fail(t, "plaintext at rest", "%s: table %s holds the marker", name, table)
				return
			}
		}
	}
}

func quoteIdent(b backend, s string) string {
	if b.name == "mysql" {
		return "`" + s + "`"
	}
	return `"` + s + `"`
}
