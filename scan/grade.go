package scan

import (
	"fmt"

	"github.com/gmfield/gmfield/masking"
)

// Level is a data level in the framework of GB/T 43697-2024 §6.1: core,
// important or general data.
type Level string

// The levels of GB/T 43697-2024 §6.1 (数据分级框架).
const (
	LevelGeneral   Level = "一般数据"
	LevelImportant Level = "重要数据"
	LevelCore      Level = "核心数据"
)

// Grade is what a column's kind means under PIPL and GB/T 43697-2024.
type Grade struct {
	// Personal is set for personal information (PIPL art. 4).
	Personal bool `json:"personal"`
	// Sensitive is set for sensitive personal information (PIPL art. 28).
	Sensitive bool `json:"sensitive"`
	// Category is the personal-information category of GB/T 43697-2024
	// Annex B (个人身份信息, 个人财产信息…), or 组织数据 for an
	// organisation's identifiers.
	Category string `json:"category,omitempty"`
	// Basis says why the column is sensitive (PIPL art. 28's category).
	Basis string `json:"basis,omitempty"`
	// Level is the data level; Sublevel subdivides general data (3
	// sensitive personal information, 2 personal information, 1 other).
	Level    Level `json:"level"`
	Sublevel int   `json:"sublevel,omitempty"`
	// Candidate is set when Level is important only as a candidate: the
	// organisation's data-security office decides against its sector's
	// catalogue (GB/T 43697-2024 Annex G).
	Candidate bool `json:"candidate,omitempty"`
	// Rule names the rule that set Level.
	Rule string `json:"rule"`
}

// Grading sets the scale at which personal information becomes a
// candidate for important data. The zero value takes the defaults.
type Grading struct {
	// SensitiveRows is the number of rows of a table with sensitive
	// personal information at which it is a candidate for important data
	// (default 1,000,000).
	SensitiveRows int64
	// PersonalRows is the same for any personal information (default
	// 10,000,000: the scale at which the Network Data Security Management
	// Regulations, art. 28, apply important-data obligations).
	PersonalRows int64
}

func (g Grading) sensitiveRows() int64 {
	if g.SensitiveRows > 0 {
		return g.SensitiveRows
	}
	return 1_000_000
}

func (g Grading) personalRows() int64 {
	if g.PersonalRows > 0 {
		return g.PersonalRows
	}
	return 10_000_000
}

// kindInfo is what each kind is under PIPL and GB/T 43697-2024 Annex B,
// and how gmfield protects it.
type kindInfo struct {
	category  string
	sensitive string // PIPL art. 28 category, "" when not sensitive
	personal  bool
	mask      string         // masking function
	params    masking.Params // its parameters
	indexes   []string       // blind indexes: "full", "last4", "lower"
	advice    string         // recommendation in words
}

var info = map[masking.Kind]kindInfo{
	masking.KindIDCard:      {category: "个人身份信息", sensitive: "特定身份", personal: true, mask: "id_card", indexes: []string{"full"}, advice: "encrypt; blind index for lookups; mask id_card; plain only to named roles"},
	masking.KindPassport:    {category: "个人身份信息", sensitive: "特定身份", personal: true, mask: "passport", indexes: []string{"full"}, advice: "encrypt; blind index for lookups; mask passport; plain only to named roles"},
	masking.KindBankCard:    {category: "个人财产信息", sensitive: "金融账户", personal: true, mask: "bank_card", indexes: []string{"full"}, advice: "encrypt; blind index for lookups; mask bank_card; plain only to named roles"},
	masking.KindMobile:      {category: "个人基本资料", personal: true, mask: "mobile", indexes: []string{"full", "last4"}, advice: "encrypt; blind indexes for lookups and last-4 search; mask mobile"},
	masking.KindLandline:    {category: "个人基本资料", personal: true, mask: "landline", indexes: []string{"full"}, advice: "encrypt; blind index for lookups; mask landline"},
	masking.KindEmail:       {category: "个人基本资料", personal: true, mask: "email", indexes: []string{"lower"}, advice: "encrypt; case-insensitive blind index; mask email"},
	masking.KindChineseName: {category: "个人基本资料", personal: true, mask: "chinese_name", advice: "encrypt; mask chinese_name"},
	masking.KindAddress:     {category: "个人基本资料", personal: true, mask: "address", advice: "encrypt; mask address; export generalized with address_region"},
	masking.KindPlate:       {category: "个人身份信息", personal: true, mask: "plate", indexes: []string{"full"}, advice: "encrypt; blind index for lookups; mask plate"},
	masking.KindIPv4:        {category: "网络身份标识信息", personal: true, mask: "ipv4", advice: "encrypt or mask ipv4"},
	masking.KindIPv6:        {category: "网络身份标识信息", personal: true, mask: "ipv6", advice: "encrypt or mask ipv6"},
	KindBirthDate:           {category: "个人基本资料", personal: true, mask: "date", params: masking.Params{"to": "year"}, advice: "encrypt; mask date (to the year)"},
	KindHealth:              {category: "个人健康生理信息", sensitive: "医疗健康", personal: true, mask: "mask_all", advice: "encrypt; deny by default; plain only to named roles"},
	KindBiometric:           {category: "个人生物识别信息", sensitive: "生物识别", personal: true, mask: "mask_all", advice: "encrypt; deny by default; plain only to named roles"},
	KindLocation:            {category: "个人位置信息", sensitive: "行踪轨迹", personal: true, mask: "mask_all", advice: "encrypt; deny by default; plain only to named roles"},
	KindFreeText:            {category: "其他个人信息", personal: true, mask: "mask_all", advice: "review the text; encrypt; mask_all"},
	masking.KindUSCC:        {category: "组织数据", advice: "an organisation's identifier: not personal information"},
}

// grade grades a column of kind k, in a table of about rows rows, whose
// table holds minors' information when minors is set.
func (g Grading) grade(k masking.Kind, rows int64, minors bool) Grade {
	ki, ok := info[k]
	if !ok || !ki.personal {
		gr := Grade{Level: LevelGeneral, Sublevel: 1, Category: ki.category, Rule: "no personal information found: general data (GB/T 43697-2024 §6.5, Annex H)"}
		return gr
	}
	gr := Grade{Personal: true, Category: ki.category, Basis: ki.sensitive, Sensitive: ki.sensitive != ""}
	if minors && !gr.Sensitive {
		gr.Sensitive, gr.Basis = true, "不满十四周岁未成年人"
	}
	switch {
	case gr.Sensitive && rows >= g.sensitiveRows():
		gr.Level, gr.Candidate = LevelImportant, true
		gr.Rule = fmt.Sprintf("sensitive personal information in a table of about %d rows (≥ %d): candidate important data (GB/T 43697-2024 §6.5, Annex G); confirm against the sector catalogue", rows, g.sensitiveRows())
	case rows >= g.personalRows():
		gr.Level, gr.Candidate = LevelImportant, true
		gr.Rule = fmt.Sprintf("personal information in a table of about %d rows (≥ %d): candidate important data (Network Data Security Management Regulations art. 28; GB/T 43697-2024 Annex G); confirm against the sector catalogue", rows, g.personalRows())
	case gr.Sensitive:
		gr.Level, gr.Sublevel = LevelGeneral, 3
		gr.Rule = "sensitive personal information (PIPL art. 28: " + gr.Basis + ") below the important-data scale: general data, highest sublevel (GB/T 43697-2024 §6.5, Annex H)"
	default:
		gr.Level, gr.Sublevel = LevelGeneral, 2
		gr.Rule = "personal information (PIPL art. 4) below the important-data scale: general data, sublevel 2 (GB/T 43697-2024 §6.5, Annex H)"
	}
	return gr
}
