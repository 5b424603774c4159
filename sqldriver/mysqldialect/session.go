package mysqldialect

import (
	"fmt"
	"strings"

	"github.com/gmfield/gmfield/sqldriver/sqlplan"
)

var _ sqlplan.SessionChecker = dialect{}

// SessionQuery implements sqlplan.SessionChecker: the server reads a
// statement in character_set_client, and MariaDB's sql_mode ORACLE and
// MSSQL change its grammar.
func (dialect) SessionQuery() string { return "SELECT @@character_set_client, @@sql_mode" }

// CheckSession implements sqlplan.SessionChecker. The other sql_mode flags
// that change how text is read (NO_BACKSLASH_ESCAPES, ANSI_QUOTES,
// PIPES_AS_CONCAT) do not matter: the statements they would read
// differently are refused whatever the mode (scan.go).
func (dialect) CheckSession(row []string, nonASCII bool) error {
	if len(row) != 2 {
		return sqlplan.Refuse(sqlplan.ErrSession, "", "", "unexpected answer to the settings query")
	}
	for _, m := range strings.Split(strings.ToUpper(row[1]), ",") {
		if m == "ORACLE" || m == "MSSQL" {
			return sqlplan.Refuse(sqlplan.ErrSession, "", "", fmt.Sprintf("sql_mode %s changes the grammar the parser reads", m))
		}
	}
	switch cs := strings.ToLower(row[0]); {
	case cs == "utf8mb4" || cs == "utf8mb3" || cs == "utf8":
		return nil
	case !nonASCII && (cs == "ascii" || cs == "latin1"):
		// Single-byte sets read ASCII text, and the backslash escapes a
		// client that interpolates arguments writes, as the parser does.
		return nil
	}
	cs := "unknown"
	if len(row[0]) <= 32 {
		cs = row[0]
	}
	return sqlplan.Refuse(sqlplan.ErrSession, "", "", fmt.Sprintf("character_set_client is %s: use utf8mb4 (under GBK, Big5 or SJIS a multibyte character can end with the byte of a backslash, in the text or in what a client interpolates)", cs))
}

// Unsettles implements sqlplan.SessionChecker: a statement naming sql_mode
// or a character set (SET sql_mode, SET @@session.sql_mode, SET NAMES,
// /*!… SET SQL_MODE … */) may change them. Stored routines restore the
// caller's sql_mode and character set when they return.
func (dialect) Unsettles(sql string) bool {
	for _, w := range unsettling {
		for i := 0; i+len(w) <= len(sql); i++ {
			if strings.EqualFold(sql[i:i+len(w)], w) {
				return true
			}
		}
	}
	return false
}

// unsettling are the words of statements that may change what
// SessionQuery reads: SET [SESSION] sql_mode, SET NAMES, SET CHARACTER
// SET, SET CHARSET, SET character_set_client.
var unsettling = []string{"sql_mode", "names", "charset", "character"}
