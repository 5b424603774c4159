package pgdialect

import (
	"strings"

	pg "github.com/pganalyze/pg_query_go/v6"

	"github.com/gmfield/gmfield/sqldriver/internal/sqlir"
)

func (tr *translator) ddl(n *pg.Node) *sqlir.DDL {
	d := &sqlir.DDL{}
	switch x := n.Node.(type) {
	case *pg.Node_CreateStmt:
		c := x.CreateStmt
		d.Op = sqlir.DDLCreateTable
		d.Tables = []*sqlir.TableName{tableName(c.Relation)}
		for _, inh := range c.InhRelations {
			if rv := inh.GetRangeVar(); rv != nil {
				d.From = append(d.From, tableName(rv))
			}
		}
		for _, el := range c.TableElts {
			switch {
			case el.GetColumnDef() != nil:
				d.Actions = append(d.Actions, tr.columnDef(el.GetColumnDef(), sqlir.ActColumn))
			case el.GetTableLikeClause() != nil:
				d.From = append(d.From, tableName(el.GetTableLikeClause().Relation))
			case el.GetConstraint() != nil:
				d.Actions = append(d.Actions, tr.constraint(el.GetConstraint()))
			default:
				d.Actions = append(d.Actions, &sqlir.Action{Kind: sqlir.ActOther, What: nodeName(el)})
			}
		}
		if c.OfTypename != nil {
			d.Actions = append(d.Actions, &sqlir.Action{Kind: sqlir.ActOther, What: "CREATE TABLE OF a type"})
		}
	case *pg.Node_AlterTableStmt:
		a := x.AlterTableStmt
		if a.Objtype != pg.ObjectType_OBJECT_TABLE {
			d.Op = sqlir.DDLOther
			d.Tables = []*sqlir.TableName{tableName(a.Relation)}
			return d
		}
		d.Op = sqlir.DDLAlterTable
		d.Tables = []*sqlir.TableName{tableName(a.Relation)}
		for _, cn := range a.Cmds {
			if cmd := cn.GetAlterTableCmd(); cmd != nil {
				d.Actions = append(d.Actions, tr.alterCmd(cmd))
				// A table made a parent or child of another (INHERIT,
				// ATTACH PARTITION): the other reads, or is read through,
				// this one.
				if rv := cmd.Def.GetRangeVar(); rv != nil {
					d.From = append(d.From, tableName(rv))
				}
				if pc := cmd.Def.GetPartitionCmd(); pc != nil && pc.Name != nil {
					d.From = append(d.From, tableName(pc.Name))
				}
			}
		}
	case *pg.Node_RenameStmt:
		r := x.RenameStmt
		if r.Relation == nil || (r.RenameType != pg.ObjectType_OBJECT_TABLE && r.RenameType != pg.ObjectType_OBJECT_COLUMN) {
			d.Op = sqlir.DDLOther
			if r.Relation != nil {
				d.Tables = []*sqlir.TableName{tableName(r.Relation)}
			}
			return d
		}
		d.Op = sqlir.DDLAlterTable
		d.Tables = []*sqlir.TableName{tableName(r.Relation)}
		d.Actions = []*sqlir.Action{{Kind: sqlir.ActRename, Column: strings.ToLower(r.Subname), NewName: strings.ToLower(r.Newname)}}
	case *pg.Node_IndexStmt:
		ix := x.IndexStmt
		d.Op = sqlir.DDLCreateIndex
		d.Tables = []*sqlir.TableName{tableName(ix.Relation)}
		act := &sqlir.Action{Kind: sqlir.ActIndex, Exprs: []sqlir.Expr{tr.e(ix.WhereClause)}}
		for _, p := range ix.IndexParams {
			if ie := p.GetIndexElem(); ie != nil {
				if ie.Name != "" {
					act.Columns = append(act.Columns, strings.ToLower(ie.Name))
				}
				act.Exprs = append(act.Exprs, tr.e(ie.Expr))
			}
		}
		d.Actions = []*sqlir.Action{act}
	case *pg.Node_DropStmt:
		dr := x.DropStmt
		switch dr.RemoveType {
		case pg.ObjectType_OBJECT_TABLE:
			d.Op = sqlir.DDLDropTable
		case pg.ObjectType_OBJECT_INDEX:
			d.Op = sqlir.DDLDropIndex
		default:
			d.Op = sqlir.DDLOther
		}
		for _, o := range dr.Objects {
			var parts []string
			for _, p := range o.GetList().GetItems() {
				parts = append(parts, strings.ToLower(p.GetString_().GetSval()))
			}
			if len(parts) > 0 && d.Op == sqlir.DDLDropTable {
				d.Tables = append(d.Tables, &sqlir.TableName{Name: parts[len(parts)-1]})
			}
		}
	case *pg.Node_TruncateStmt:
		d.Op = sqlir.DDLTruncate
		for _, r := range x.TruncateStmt.Relations {
			if rv := r.GetRangeVar(); rv != nil {
				d.Tables = append(d.Tables, tableName(rv))
			}
		}
	case *pg.Node_ViewStmt:
		d.Op = sqlir.DDLCreateView
		d.Query = tr.query(x.ViewStmt.Query.GetSelectStmt())
	case *pg.Node_CreateTableAsStmt:
		d.Op = sqlir.DDLCreateTableAs
		d.Query = tr.query(x.CreateTableAsStmt.Query.GetSelectStmt())
	}
	return d
}

// columnDef translates a column definition: whether it gives the column
// a value (DEFAULT, GENERATED, IDENTITY) and the expressions it holds.
func (tr *translator) columnDef(cd *pg.ColumnDef, kind sqlir.ActionKind) *sqlir.Action {
	act := &sqlir.Action{Kind: kind, Column: strings.ToLower(cd.Colname)}
	if cd.RawDefault != nil || cd.CookedDefault != nil || cd.Identity != "" || cd.Generated != "" {
		act.Value = true
		act.Exprs = append(act.Exprs, tr.e(cd.RawDefault))
	}
	for _, c := range cd.Constraints {
		con := c.GetConstraint()
		if con == nil {
			continue
		}
		switch con.Contype {
		case pg.ConstrType_CONSTR_DEFAULT, pg.ConstrType_CONSTR_GENERATED, pg.ConstrType_CONSTR_IDENTITY:
			act.Value = true
			act.Exprs = append(act.Exprs, tr.e(con.RawExpr))
		case pg.ConstrType_CONSTR_CHECK:
			act.Exprs = append(act.Exprs, tr.e(con.RawExpr))
		}
	}
	return act
}

func (tr *translator) constraint(con *pg.Constraint) *sqlir.Action {
	switch con.Contype {
	case pg.ConstrType_CONSTR_PRIMARY, pg.ConstrType_CONSTR_UNIQUE:
		act := &sqlir.Action{Kind: sqlir.ActIndex}
		for _, k := range con.Keys {
			act.Columns = append(act.Columns, strings.ToLower(k.GetString_().GetSval()))
		}
		return act
	case pg.ConstrType_CONSTR_CHECK:
		return &sqlir.Action{Kind: sqlir.ActConstraint, Exprs: []sqlir.Expr{tr.e(con.RawExpr)}}
	case pg.ConstrType_CONSTR_FOREIGN, pg.ConstrType_CONSTR_NOTNULL:
		return &sqlir.Action{Kind: sqlir.ActConstraint}
	}
	return &sqlir.Action{Kind: sqlir.ActOther, What: "constraint " + strings.ToLower(strings.TrimPrefix(con.Contype.String(), "CONSTR_"))}
}

func (tr *translator) alterCmd(cmd *pg.AlterTableCmd) *sqlir.Action {
	name := strings.ToLower(cmd.Name)
	switch cmd.Subtype {
	case pg.AlterTableType_AT_AddColumn:
		if cd := cmd.Def.GetColumnDef(); cd != nil {
			return tr.columnDef(cd, sqlir.ActColumn)
		}
	case pg.AlterTableType_AT_DropColumn:
		return &sqlir.Action{Kind: sqlir.ActDropColumn, Column: name}
	case pg.AlterTableType_AT_AlterColumnType:
		act := &sqlir.Action{Kind: sqlir.ActAlterType, Column: name}
		if cd := cmd.Def.GetColumnDef(); cd != nil && cd.RawDefault != nil {
			act.Value = true // USING expression
			act.Exprs = []sqlir.Expr{tr.e(cd.RawDefault)}
		}
		return act
	case pg.AlterTableType_AT_ColumnDefault:
		if cmd.Def == nil {
			return &sqlir.Action{Kind: sqlir.ActDropDefault, Column: name}
		}
		return &sqlir.Action{Kind: sqlir.ActSetDefault, Column: name, Value: true, Exprs: []sqlir.Expr{tr.e(cmd.Def)}}
	case pg.AlterTableType_AT_DropNotNull, pg.AlterTableType_AT_SetNotNull:
		return &sqlir.Action{Kind: sqlir.ActDropDefault, Column: name}
	case pg.AlterTableType_AT_AddConstraint:
		if con := cmd.Def.GetConstraint(); con != nil {
			return tr.constraint(con)
		}
	case pg.AlterTableType_AT_DropConstraint:
		return &sqlir.Action{Kind: sqlir.ActDropConstraint}
	}
	return &sqlir.Action{Kind: sqlir.ActOther, What: "ALTER TABLE " + strings.ToLower(strings.TrimPrefix(cmd.Subtype.String(), "AT_"))}
}
