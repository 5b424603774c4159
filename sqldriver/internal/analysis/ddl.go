package analysis

import (
	"github.com/gmfield/gmfield/sqldriver/internal/sqlir"
	"github.com/gmfield/gmfield/sqldriver/sqlplan"
)

var schemaOps = map[sqlir.DDLOp]sqlplan.SchemaOp{
	sqlir.DDLCreateTable: sqlplan.SchemaCreate, sqlir.DDLAlterTable: sqlplan.SchemaAlter, sqlir.DDLDropTable: sqlplan.SchemaDrop,
	sqlir.DDLTruncate: sqlplan.SchemaTruncate, sqlir.DDLCreateIndex: sqlplan.SchemaIndex, sqlir.DDLDropIndex: sqlplan.SchemaIndex,
}

// ddl analyzes a schema statement that names a protected table: it
// passes only in forms known to give no value to a protected column and
// to keep the configuration true (adding or dropping columns and indexes,
// widening a column's type); everything else is refused.
func (a *analyzer) ddl(d *sqlir.DDL) error {
	for _, tn := range d.From {
		if t := a.cat.Table(tn.Name); t != nil {
			return refuse(sqlplan.ErrUnsupportedStatement, t.Name, "", "a table defined from or reading a protected table (INHERITS, LIKE, PARTITION OF, AS SELECT, VIEW, ATTACH PARTITION)")
		}
	}
	if len(d.From) > 0 {
		for _, tn := range d.Tables {
			if t := a.cat.Table(tn.Name); t != nil {
				// A protected table as the child or partition of another
				// is read through it, and may take its defaults (LIKE).
				return refuse(sqlplan.ErrUnsupportedStatement, t.Name, "", "a protected table defined from or attached to another (INHERITS, LIKE, PARTITION OF, INHERIT)")
			}
		}
	}
	a.plan.Schema = schemaOps[d.Op]
	if a.plan.Schema == sqlplan.SchemaNone {
		a.plan.Schema = sqlplan.SchemaOther
	}
	switch d.Op {
	case sqlir.DDLDropIndex, sqlir.DDLDropTable, sqlir.DDLTruncate:
		return nil
	case sqlir.DDLCreateIndex:
		for _, tn := range d.Tables {
			if t := a.cat.Table(tn.Name); t != nil {
				for _, act := range d.Actions {
					if err := a.ddlExprs(t, act); err != nil {
						return err
					}
				}
			}
		}
		return nil
	case sqlir.DDLCreateTable, sqlir.DDLAlterTable:
	default:
		for _, tn := range append(append([]*sqlir.TableName{}, d.Tables...), a.st.Names...) {
			if t := a.cat.Table(tn.Name); t != nil {
				return refuse(sqlplan.ErrUnsupportedStatement, t.Name, "", "schema statement")
			}
		}
		return nil
	}
	for _, tn := range d.Tables {
		t := a.cat.Table(tn.Name)
		if t == nil {
			continue
		}
		for _, act := range d.Actions {
			if err := a.tableAction(t, act); err != nil {
				return err
			}
		}
	}
	return nil
}

// tableAction checks one part of a CREATE or ALTER TABLE of protected t.
func (a *analyzer) tableAction(t *sqlplan.Table, act *sqlir.Action) error {
	special := t.Columns[act.Column] != nil || t.IndexColumns[act.Column] != nil
	name := act.Column
	switch act.Kind {
	case sqlir.ActColumn:
		if special && act.Value {
			return refuse(sqlplan.ErrUnsupportedStatement, t.Name, name, "a default or generated value for a protected or blind-index column")
		}
	case sqlir.ActDropColumn, sqlir.ActDropDefault, sqlir.ActIndex, sqlir.ActDropConstraint:
	case sqlir.ActAlterType:
		if special && act.Value {
			return refuse(sqlplan.ErrUnsupportedStatement, t.Name, name, "ALTER … TYPE … USING on a protected or blind-index column")
		}
		if act.NewName != "" && act.NewName != act.Column && (special || name == t.RowKey) {
			return refuse(sqlplan.ErrUnsupportedStatement, t.Name, name, "renaming a protected, blind-index or row-key column")
		}
	case sqlir.ActSetDefault:
		if special {
			return refuse(sqlplan.ErrUnsupportedStatement, t.Name, name, "a default for a protected or blind-index column")
		}
	case sqlir.ActRename:
		if name == "" {
			return refuse(sqlplan.ErrUnsupportedStatement, t.Name, "", "renaming a protected table")
		}
		if special || name == t.RowKey {
			return refuse(sqlplan.ErrUnsupportedStatement, t.Name, name, "renaming a protected, blind-index or row-key column")
		}
	case sqlir.ActConstraint:
	default:
		return refuse(sqlplan.ErrUnsupportedStatement, t.Name, "", act.What+" on a protected table")
	}
	return a.ddlExprs(t, act)
}

// ddlExprs refuses expressions of a schema statement (defaults, checks,
// generated columns, USING, index expressions and predicates) that read
// a protected or blind-index column of t: they would run on ciphertext,
// or copy it, or keep a value next to it in the catalog.
func (a *analyzer) ddlExprs(t *sqlplan.Table, act *sqlir.Action) error {
	var bad string
	for _, e := range act.Exprs {
		walkExpr(e, func(x sqlir.Expr) bool {
			if cr, ok := x.(*sqlir.ColumnRef); ok && (t.Columns[cr.Name] != nil || t.IndexColumns[cr.Name] != nil) {
				bad = cr.Name
			}
			return bad == ""
		})
	}
	if bad != "" {
		return refuse(sqlplan.ErrUnsupportedStatement, t.Name, bad, "an expression on a protected or blind-index column in a schema statement")
	}
	return nil
}
