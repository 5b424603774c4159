package scan

import (
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite testdata/corpus from its generator")

// corpusDir holds the labelled corpus: a CSV file per table (its header
// names each column's portable type: "id:int:pk") and labels.json, the
// kind of every column ("" for none).
const corpusDir = "testdata/corpus"

// TestGenerateCorpus rewrites the corpus with -update; without it, it
// checks that the shipped corpus is what the generator makes, so that the
// two never drift apart.
func TestGenerateCorpus(t *testing.T) {
	tables, labels := generateCorpus()
	for name, rows := range tables {
		var b strings.Builder
		w := csv.NewWriter(&b)
		if err := w.WriteAll(rows); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(corpusDir, name+".csv")
		if *update {
			if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(path)
		if err != nil || string(got) != b.String() {
			t.Fatalf("%s differs from its generator (err %v): run go test ./scan -run TestGenerateCorpus -update", path, err)
		}
	}
	lb, _ := json.MarshalIndent(labels, "", "  ")
	lb = append(lb, '\n')
	path := filepath.Join(corpusDir, "labels.json")
	if *update {
		if err := os.WriteFile(path, lb, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if got, err := os.ReadFile(path); err != nil || string(got) != string(lb) {
		t.Fatalf("%s differs from its generator (err %v)", path, err)
	}
}

// gen makes realistic synthetic values with valid checksums.
type gen struct{ r *rand.Rand }

func (g gen) pick(s []string) string { return s[g.r.IntN(len(s))] }
func (g gen) digits(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte('0' + g.r.IntN(10))
	}
	return string(b)
}

var (
	surnames    = strings.Split("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦方白邹孟熊秦邱江尹薛段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤", "")
	compound    = []string{"欧阳", "司马", "上官", "诸葛", "东方", "慕容"}
	givenChars  = strings.Split("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂英华玉萍红燕鹏辉玲建国文斌宇浩凯健俊帆帅旭宁欣雪琳晨晶倩婷颖丹峰岩志海波春梅秋云飞翔子涵梓轩一诺思雨嘉怡", "")
	provinces   = []struct{ p, c, d string }{{"北京市", "", "朝阳区"}, {"北京市", "", "海淀区"}, {"上海市", "", "浦东新区"}, {"广东省", "深圳市", "南山区"}, {"广东省", "广州市", "天河区"}, {"浙江省", "杭州市", "西湖区"}, {"四川省", "成都市", "武侯区"}, {"江苏省", "南京市", "鼓楼区"}, {"湖北省", "武汉市", "洪山区"}, {"新疆维吾尔自治区", "乌鲁木齐市", "天山区"}, {"山东省", "青岛市", "崂山区"}, {"河南省", "郑州市", "金水区"}}
	streets     = []string{"建国路", "中关村大街", "科技园路", "人民南路", "解放大道", "文三路", "中山路", "长江路", "幸福街", "和平里东街"}
	regions     = []string{"110105", "110108", "310115", "440305", "440106", "330106", "510107", "320106", "420111", "650102", "370212", "410105"}
	mobilePre   = []string{"130", "131", "132", "133", "135", "136", "137", "138", "139", "150", "151", "152", "155", "157", "158", "159", "166", "177", "180", "181", "186", "187", "188", "189", "198", "199"}
	areaCodes   = []string{"010", "021", "020", "0755", "0571", "028", "025", "027"}
	domains     = []string{"qq.com", "163.com", "126.com", "gmail.com", "sina.com", "gov.cn", "example.com.cn"}
	pinyin      = []string{"wang", "li", "zhang", "liu", "chen", "yang", "zhao", "huang", "zhou", "wu", "xu", "sun", "ma", "hu", "zhu", "guo", "he", "lin", "luo", "gao"}
	plateProv   = strings.Split("京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤川", "")
	plateLetter = strings.Split("ABCDEFGHJKLMNPQRSTUVWXYZ0123456789", "")
	products    = []string{"王老吉凉茶", "康师傅", "李宁", "周黑鸭", "金龙鱼", "白象", "黄飞红", "雷碧", "洽洽瓜子", "三只松鼠", "农夫山泉", "娃哈哈", "旺仔牛奶", "海天酱油", "云南白药", "马应龙", "高露洁", "孔府家酒", "杜蕾斯", "钟薛高"}
	notes       = []string{"客户要求周末送货", "已电话回访,问题已解决", "包装破损,已补发", "请放在门卫处", "发票抬头与订单一致", "用户反馈物流较慢,已催促", "退货已入库", "首次购买,赠送样品", "", "重要客户,优先处理"}
	departments = []string{"办公室", "人事处", "财务处", "信息中心", "法规科", "综合业务部", "审批服务局", "数据资源管理局", "档案室", "后勤保障部"}
	titles      = []string{"科员", "副科长", "科长", "副处长", "处长", "主任科员", "办事员", "一级主任科员", "副主任", "调研员"}
	statuses    = []string{"正常", "注销", "冻结", "待审核", "已归档"}
	diagnoses   = []string{"2型糖尿病", "原发性高血压", "急性上呼吸道感染", "腰椎间盘突出症", "慢性胃炎", "支气管哮喘", "轻度抑郁发作", "过敏性鼻炎"}
	allergies   = []string{"青霉素", "无", "花粉", "海鲜", "磺胺类药物", "尘螨"}
	branches    = []string{"中国工商银行股份有限公司北京朝阳支行", "中国建设银行深圳南山支行", "招商银行杭州分行营业部", "中国银行成都高新支行"}
	companies   = []string{"北京数智政务科技有限公司", "深圳市前海云图信息技术有限公司", "杭州市城市大脑运营有限公司", "成都天府软件园发展有限公司", "南京市公共资源交易中心", "武汉光谷数据服务有限公司"}
	models      = []string{"比亚迪汉", "大众朗逸", "丰田卡罗拉", "特斯拉Model 3", "五菱宏光", "吉利星越", "蔚来ES6"}
	colors      = []string{"白色", "黑色", "银色", "红色", "蓝色"}
	events      = []string{"login", "logout", "view", "submit", "export", "download"}
	agents      = []string{"Mozilla/5.0 (Windows NT 10.0; Win64; x64)", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X)", "okhttp/4.12.0"}
)

func (g gen) name() string {
	s := g.pick(surnames)
	if g.r.IntN(25) == 0 {
		s = g.pick(compound)
	}
	s += g.pick(givenChars)
	if g.r.IntN(3) > 0 {
		s += g.pick(givenChars)
	}
	return s
}

func (g gen) address() string {
	p := provinces[g.r.IntN(len(provinces))]
	s := p.p + p.c + p.d + g.pick(streets) + fmt.Sprint(1+g.r.IntN(300)) + "号"
	if g.r.IntN(2) == 0 {
		s += fmt.Sprintf("%d栋%d室", 1+g.r.IntN(20), 101+g.r.IntN(2000))
	}
	return s
}

func (g gen) birth(from, to int) time.Time {
	start := time.Date(from, 1, 1, 0, 0, 0, 0, time.UTC)
	days := int(time.Date(to, 12, 31, 0, 0, 0, 0, time.UTC).Sub(start).Hours() / 24)
	return start.AddDate(0, 0, g.r.IntN(days))
}

func (g gen) idCard(born time.Time) string {
	body := g.pick(regions) + born.Format("20060102") + g.digits(3)
	w := [17]int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
	sum := 0
	for i := range 17 {
		sum += int(body[i]-'0') * w[i]
	}
	return body + string("10X98765432"[sum%11])
}

func luhn(payload string) string {
	sum := 0
	for i := len(payload) - 1; i >= 0; i-- {
		d := int(payload[i] - '0')
		if (len(payload)-i)%2 == 1 {
			if d *= 2; d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return payload + string(rune('0'+(10-sum%10)%10))
}

func (g gen) bankCard() string {
	if g.r.IntN(2) == 0 {
		return luhn("622202" + g.digits(12)) // 19 digits
	}
	return luhn(g.pick([]string{"622848", "621700", "436742", "524047"}) + g.digits(9)) // 16
}

func (g gen) mobile() string { return g.pick(mobilePre) + g.digits(8) }

func (g gen) landline() string {
	a := g.pick(areaCodes)
	n := 8
	if len(a) == 4 && g.r.IntN(3) == 0 {
		n = 7
	}
	return a + "-" + fmt.Sprint(2+g.r.IntN(7)) + g.digits(n-1)
}

func (g gen) email() string {
	return g.pick(pinyin) + g.pick([]string{"", ".", "_"}) + g.pick(pinyin) + g.digits(g.r.IntN(4)) + "@" + g.pick(domains)
}

func (g gen) plate() string {
	if g.r.IntN(4) == 0 { // new energy
		return g.pick(plateProv) + string(rune('A'+g.r.IntN(8))) + g.pick([]string{"D", "F"}) + g.digits(5)
	}
	s := g.pick(plateProv) + string(rune('A'+g.r.IntN(8)))
	for range 5 {
		s += g.pick(plateLetter)
	}
	return strings.NewReplacer("I", "1", "O", "0").Replace(s)
}

func (g gen) uscc() string {
	const alpha = "0123456789ABCDEFGHJKLMNPQRTUWXY"
	org := g.digits(8)
	ow := [8]int{3, 7, 9, 10, 5, 8, 4, 2}
	sum := 0
	for i := range 8 {
		sum += int(org[i]-'0') * ow[i]
	}
	oc := map[int]string{10: "X", 11: "0"}[11-sum%11]
	if oc == "" {
		oc = fmt.Sprint(11 - sum%11)
	}
	body := "91" + g.pick(regions) + org + oc
	w := [17]int{1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28}
	sum = 0
	for i := range 17 {
		sum += strings.IndexByte(alpha, body[i]) * w[i]
	}
	return body + string(alpha[(31-sum%31)%31])
}

func (g gen) ipv4() string {
	return fmt.Sprintf("%d.%d.%d.%d", 1+g.r.IntN(223), g.r.IntN(256), g.r.IntN(256), 1+g.r.IntN(254))
}

func (g gen) ipv6() string {
	return fmt.Sprintf("2408:%x:%x:%x::%x", g.r.IntN(0xffff), g.r.IntN(0xffff), g.r.IntN(0xffff), 1+g.r.IntN(0xfffe))
}

func (g gen) timestamp() string {
	return time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(g.r.Int64N(int64(700 * 24 * time.Hour)))).Format("2006-01-02 15:04:05")
}

// generateCorpus returns the tables (header first) and the labels.
func generateCorpus() (map[string][][]string, map[string]string) {
	g := gen{rand.New(rand.NewPCG(14, 2026))}
	tables := map[string][][]string{}
	labels := map[string]string{}
	table := func(name string, rows int, cols ...col) {
		head := make([]string, len(cols))
		for i, c := range cols {
			head[i] = c.name + ":" + c.typ
			labels[name+"."+strings.TrimSuffix(c.name, ":pk")] = c.kind
		}
		out := [][]string{head}
		for i := range rows {
			r := make([]string, len(cols))
			for j, c := range cols {
				r[j] = c.val(i)
			}
			out = append(out, r)
		}
		tables[name] = out
	}
	id := col{"id", "int:pk", "", func(i int) string { return fmt.Sprint(i + 1) }}
	sometimes := func(p int, f func() string) func(int) string {
		return func(int) string {
			if g.r.IntN(100) < p {
				return ""
			}
			return f()
		}
	}
	table("citizen", 400, id,
		col{"xm", "text", "chinese_name", func(int) string { return g.name() }},
		col{"sfzh", "text", "id_card", func(int) string { return g.idCard(g.birth(1940, 2008)) }},
		col{"shouji", "text", "mobile", func(int) string { return g.mobile() }},
		col{"jtzz", "text", "address", func(int) string { return g.address() }},
		col{"csrq", "date", "birth_date", func(int) string { return g.birth(1940, 2008).Format(time.DateOnly) }},
		col{"email", "text", "email", sometimes(30, g.email)},
		col{"status", "text", "", func(int) string { return g.pick(statuses) }},
		col{"created_at", "timestamp", "", func(int) string { return g.timestamp() }},
	)
	table("客户", 300, id,
		col{"姓名", "text", "chinese_name", func(int) string { return g.name() }},
		col{"身份证号", "text", "id_card", func(int) string { return g.idCard(g.birth(1950, 2005)) }},
		col{"固定电话", "text", "landline", func(int) string { return g.landline() }},
		col{"联系地址", "text", "address", func(int) string { return g.address() }},
		col{"备注", "text", "", func(int) string { return g.pick(notes) }},
		col{"客户编号", "text", "", func(i int) string { return fmt.Sprintf("KH%08d", 20240000+i) }},
	)
	orderBase := int64(13_900_000_000)
	table("orders", 500, id,
		col{"order_no", "text", "", func(i int) string { return fmt.Sprint(orderBase + int64(i)*7 + int64(g.r.IntN(5))) }},
		col{"sku", "text", "", func(int) string { return fmt.Sprintf("SKU-%s-%s", g.pick([]string{"A", "B", "C", "K"}), g.digits(6)) }},
		col{"product_name", "text", "", func(int) string { return g.pick(products) }},
		col{"amount", "numeric", "", func(int) string { return fmt.Sprintf("%d.%02d", g.r.IntN(5000), g.r.IntN(100)) }},
		col{"contact", "text", "chinese_name", func(int) string { return g.name() }},
		col{"contact_phone", "text", "mobile", func(int) string { return g.mobile() }},
		col{"ship_addr", "text", "address", func(int) string { return g.address() }},
		col{"tracking_no", "text", "", func(int) string { return "SF" + g.digits(13) }},
		col{"invoice_code", "text", "", func(int) string { return "0" + g.digits(11) }},
		col{"remark", "text", "", sometimes(40, func() string { return g.pick(notes) })},
	)
	table("bank_account", 300, id,
		col{"holder", "text", "chinese_name", func(int) string { return g.name() }},
		col{"card_no", "text", "bank_card", func(int) string { return g.bankCard() }},
		col{"branch", "text", "", func(int) string { return g.pick(branches) }},
		col{"balance", "numeric", "", func(int) string { return fmt.Sprintf("%d.%02d", g.r.IntN(1_000_000), g.r.IntN(100)) }},
		col{"txn_id", "text", "", func(int) string { return fmt.Sprint(1+g.r.IntN(9)) + g.digits(17) }},
		col{"opened", "date", "", func(int) string { return g.birth(2010, 2025).Format(time.DateOnly) }},
	)
	table("vehicle", 250, id,
		col{"hphm", "text", "plate", func(int) string { return g.plate() }},
		col{"owner_name", "text", "chinese_name", func(int) string { return g.name() }},
		col{"vin", "text", "", func(int) string { return "LSV" + g.pick([]string{"AB", "CD", "HJ"}) + g.digits(12) }},
		col{"model", "text", "", func(int) string { return g.pick(models) }},
		col{"color", "text", "", func(int) string { return g.pick(colors) }},
	)
	table("travel", 250, id,
		col{"passport_no", "text", "passport", func(int) string {
			if g.r.IntN(4) == 0 {
				return "E" + string(rune('A'+g.r.IntN(8))) + g.digits(7)
			}
			return g.pick([]string{"E", "G"}) + g.digits(8)
		}},
		col{"login_ip", "text", "ipv4", func(int) string { return g.ipv4() }},
		col{"client_ip6", "text", "ipv6", func(int) string { return g.ipv6() }},
		col{"device_sn", "text", "", func(int) string { return "SN" + g.digits(10) }},
		col{"nationality", "text", "", func(int) string { return g.pick([]string{"中国", "CHN", "中华人民共和国"}) }},
	)
	table("company", 200, id,
		col{"company_name", "text", "", func(int) string { return g.pick(companies) }},
		col{"tyshxydm", "text", "uscc", func(int) string { return g.uscc() }},
		col{"legal_person", "text", "chinese_name", func(int) string { return g.name() }},
		col{"reg_address", "text", "address", func(int) string { return g.address() }},
		col{"office_tel", "text", "landline", func(int) string { return g.landline() }},
	)
	table("patient", 200, id,
		col{"patient_name", "text", "chinese_name", func(int) string { return g.name() }},
		col{"diagnosis", "text", "health", func(int) string { return g.pick(diagnoses) }},
		col{"allergy", "text", "health", func(int) string { return g.pick(allergies) }},
		col{"face_image", "blob", "biometric", func(int) string { return hex.EncodeToString([]byte(g.digits(24))) }},
		col{"lat", "double", "location", func(int) string { return fmt.Sprintf("%.6f", 22+g.r.Float64()*18) }},
		col{"lng", "double", "location", func(int) string { return fmt.Sprintf("%.6f", 100+g.r.Float64()*20) }},
		col{"guardian_mobile", "text", "mobile", func(int) string { return g.mobile() }},
		col{"child_birthday", "date", "birth_date", func(int) string { return g.birth(2014, 2024).Format(time.DateOnly) }},
	)
	table("event_log", 400, id,
		col{"ts", "timestamp", "", func(int) string { return g.timestamp() }},
		col{"event", "text", "", func(int) string { return g.pick(events) }},
		col{"user_agent", "text", "", func(int) string { return g.pick(agents) }},
		col{"message", "text", "free_text", func(int) string {
			if g.r.IntN(3) == 0 {
				return "用户" + g.name() + "来电(" + g.mobile() + ")咨询办理进度"
			}
			return g.pick(notes[:8]) + ",处理人工号" + g.digits(4)
		}},
		col{"session_id", "text", "", func(int) string { return g.digits(8) + "abcdef" + g.digits(6) }},
	)
	table("staff", 150, id,
		col{"emp_no", "text", "", func(i int) string { return fmt.Sprintf("E%05d", 1000+i) }},
		col{"部门", "text", "", func(int) string { return g.pick(departments) }},
		col{"职务", "text", "", func(int) string { return g.pick(titles) }},
		col{"work_email", "text", "email", func(int) string { return g.email() }},
		col{"手机号", "text", "mobile", func(int) string { return g.mobile() }},
		col{"工号", "text", "", func(i int) string { return fmt.Sprint(20_000_000 + i) }},
	)
	return tables, labels
}

// col is a corpus column: its name, portable type ("int:pk", "text",
// "date", "timestamp", "numeric", "double", "blob": hex in the file), its
// label and its generator.
type col struct {
	name, typ, kind string
	val             func(i int) string
}

// corpusKinds lists the labelled kinds, sorted.
func corpusKinds(labels map[string]string) []string {
	var ks []string
	for _, k := range labels {
		if k != "" && !slices.Contains(ks, k) {
			ks = append(ks, k)
		}
	}
	slices.Sort(ks)
	return ks
}
