package sqldriver_test

import (
	"testing"

	"github.com/jmoiron/sqlx"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	gormmysql "gorm.io/driver/mysql"
	gormpg "gorm.io/driver/postgres"
	gormsqlite "gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/gmfield/gmfield/sqldriver"
)

// Citizen is the GORM and sqlx model of the citizen table.
type Citizen struct {
	ID    int64  `db:"id" gorm:"primaryKey;autoIncrement:false"`
	IDNo  string `db:"id_no" gorm:"column:id_no"`
	Phone string `db:"phone"`
	Name  string `db:"name"`
	City  string `db:"city"`
}

func (Citizen) TableName() string { return "citizen" }

func TestSQLX(t *testing.T) {
	each(t, func(t *testing.T, b backend) {
		_, db := b.open(t, newConfig(t, testConfig))
		b.schema(t, db)
		bind := map[string]string{"sqlite": "sqlite3", "postgres": "pgx", "libpq": "postgres", "mysql": "mysql"}[b.name]
		x := sqlx.NewDb(db.DB, bind)
		_, err := x.NamedExecContext(as("admin"), `INSERT INTO citizen (id, id_no, phone, name, city) VALUES (:id, :id_no, :phone, :name, :city)`,
			[]Citizen{{1, "11010519491231002X", "13800138000", "张三", "北京"}, {2, "110101199003077777", "13912345678", "李四", "上海"}})
		require.NoError(t, err)
		var c Citizen
		require.NoError(t, x.GetContext(as("clerk"), &c, x.Rebind(`SELECT id, id_no, phone, name, city FROM citizen WHERE phone = ?`), "13912345678"))
		assert.Equal(t, Citizen{2, "110101********7777", "139****5678", "李*", "上海"}, c)
		var all []Citizen
		require.NoError(t, x.Unsafe().SelectContext(as("admin"), &all, `SELECT * FROM citizen ORDER BY id`))
		require.Len(t, all, 2)
		assert.Equal(t, "张三", all[0].Name)
		assert.Equal(t, "11010519491231002X", all[0].IDNo)
	})
}

func TestGORM(t *testing.T) {
	each(t, func(t *testing.T, b backend) {
		_, db := b.open(t, newConfig(t, testConfig))
		b.schema(t, db)
		var dial gorm.Dialector
		switch b.name {
		case "sqlite":
			dial = gormsqlite.Dialector{Conn: db.DB}
		case "postgres", "libpq":
			dial = gormpg.New(gormpg.Config{Conn: db.DB})
		case "mysql":
			dial = gormmysql.New(gormmysql.Config{Conn: db.DB, SkipInitializeWithVersion: true})
		}
		g, err := gorm.Open(dial, &gorm.Config{Logger: logger.Discard, SkipDefaultTransaction: true})
		require.NoError(t, err)
		admin := g.WithContext(as("admin"))
		require.NoError(t, admin.Create(&Citizen{ID: 1, IDNo: "11010519491231002X", Phone: "13800138000", Name: "张三", City: "北京"}).Error)
		require.NoError(t, admin.Create([]Citizen{{ID: 2, Phone: "13912345678", Name: "李四"}, {ID: 3, Phone: "13800138000", Name: "王五"}}).Error)

		var c Citizen
		require.NoError(t, g.WithContext(as("clerk")).Where("phone = ?", "13912345678").First(&c).Error)
		assert.Equal(t, "139****5678", c.Phone)
		assert.Equal(t, "李*", c.Name)

		var same []Citizen
		require.NoError(t, g.WithContext(as("auditor")).Where("phone = ?", "13800138000").Order("id").Find(&same).Error)
		require.Len(t, same, 2)
		assert.Equal(t, "13800138000", same[1].Phone)
		assert.Equal(t, "王*", same[1].Name)

		require.NoError(t, admin.Model(&Citizen{ID: 2}).Update("phone", "13700001111").Error)
		require.NoError(t, admin.First(&c, 2).Error)
		assert.Equal(t, "13700001111", c.Phone)

		// Save writes every field of a loaded record (UPDATE … WHERE id).
		c.Name = "李四四"
		require.NoError(t, admin.Save(&c).Error)
		var again Citizen
		require.NoError(t, admin.Where("phone = ?", "13700001111").First(&again).Error)
		assert.Equal(t, "李四四", again.Name)
		require.NoError(t, admin.CreateInBatches([]Citizen{{ID: 10, Phone: "13000000010"}, {ID: 11, Phone: "13000000011"}, {ID: 12, Phone: "13000000012"}}, 2).Error)
		var batch []Citizen
		require.NoError(t, admin.Where("phone IN ?", []string{"13000000010", "13000000012"}).Order("id").Find(&batch).Error)
		require.Len(t, batch, 2)
		assert.Equal(t, int64(12), batch[1].ID)
		require.NoError(t, admin.Where("id >= ?", 10).Delete(&Citizen{}).Error)

		err = admin.Order("phone").Find(&same).Error
		assert.ErrorIs(t, err, sqldriver.ErrUnsupportedUse)

		require.NoError(t, admin.Where("phone = ?", "13700001111").Delete(&Citizen{}).Error)
		var n int64
		require.NoError(t, admin.Model(&Citizen{}).Count(&n).Error)
		assert.EqualValues(t, 2, n)
	})
}
