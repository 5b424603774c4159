package masking

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestValidate(t *testing.T) {
	uscc := validUSCC("91350100", "M0001000")
	badUSCC := uscc[:17] + string(usccAlphabet[(usccValue(uscc[17])+1)%31])
	cases := []struct {
		kind Kind
		in   string
		want float64
	}{
		{KindIDCard, "11010519491231002X", 0.99},
		{KindIDCard, "11010519491231002x", 0.99},
		{KindIDCard, "１１０１０５１９４９１２３１００２Ｘ", 0.99},
		{KindIDCard, "110105194912310021", 0.3}, // wrong check digit
		{KindIDCard, "11010519491331002X", 0},   // month 13
		{KindIDCard, "11010521491231002X", 0},   // born in the future
		{KindIDCard, "110105491231002", 0.7},    // legacy 15 digits
		{KindIDCard, "01010519491231002X", 0},   // region cannot start with 0
		{KindIDCard, "1101051949123100", 0},     // 16 digits
		{KindUSCC, uscc, 0.99},
		{KindUSCC, badUSCC, 0},
		{KindUSCC, "91350100M000100Y4", 0},
		{KindBankCard, "6222021234567890123", 0}, // Luhn fails
		{KindBankCard, "4111111111111111", 0.8},
		{KindBankCard, "4111 1111 1111 1111", 0.8},
		{KindMobile, "13800138000", 0.95},
		{KindMobile, "+86 138-0013-8000", 0.95},
		{KindMobile, "12800138000", 0},
		{KindMobile, "1380013800", 0},
		{KindLandline, "010-12345678", 0.85},
		{KindLandline, "0755-8765432", 0.85},
		{KindLandline, "01012345678", 0.6},
		{KindLandline, "13800138000", 0},
		{KindEmail, "zhangsan@example.gov.cn", 0.95},
		{KindEmail, "Zhang San <zhangsan@example.gov.cn>", 0},
		{KindEmail, "zhangsan@localhost", 0.5},
		{KindEmail, "not an email", 0},
		{KindPlate, "京A12345", 0.9},
		{KindPlate, "粤B·D12345", 0.9},
		{KindPlate, "京AD12345", 0.9},
		{KindPlate, "沪A1234学", 0.9},
		{KindPlate, "XA12345", 0},
		{KindPlate, "京A1234", 0},
		{KindPassport, "E12345678", 0.85},
		{KindPassport, "EA1234567", 0.8},
		{KindPassport, "G1234567", 0.3}, // shape only
		{KindIPv4, "192.168.1.10", 0.95},
		{KindIPv4, "256.1.1.1", 0},
		{KindIPv6, "2001:db8::1", 0.95},
		{KindIPv6, "::ffff:1.2.3.4", 0},
		{KindChineseName, "张三", 0.85},
		{KindChineseName, "王小明", 0.85},
		{KindChineseName, "欧阳娜娜", 0.9},
		{KindChineseName, "诸葛亮", 0.9},
		{KindChineseName, "阿卜杜·热合曼", 0.7},
		{KindChineseName, "司马相如大人", 0},
		{KindChineseName, "华为手机", 0}, // ends like a thing
		{KindChineseName, "财务部", 0},  // ends like an organisation
		{KindChineseName, "上海", 0},   // no surname
		{KindChineseName, "张三1", 0},
		{KindChineseName, "张", 0},
		{KindAddress, "北京市朝阳区建国路88号", 0.95},
		{KindAddress, "广东省深圳市南山区科技园科苑路15号", 0.95},
		{KindAddress, "朝阳区建国路88号院3号楼", 0.85},
		{KindAddress, "建国路88号", 0.6},
		{KindAddress, "请在工作日送到公司，谢谢", 0},
		{KindAddress, "北京", 0},
		{KindAddress, "客户反映小区门口路灯不亮", 0},
		{Kind("nope"), "x", 0},
	}
	for _, c := range cases {
		assert.Equal(t, c.want, Validate(c.kind, c.in), "%s %q", c.kind, c.in)
	}
}

func TestValidLuhnBankCard(t *testing.T) {
	b := []byte("622202123456789012")
	card := string(append(b, luhnCheck(b)))
	assert.Equal(t, 0.9, Validate(KindBankCard, card))
}

func TestDetectRanks(t *testing.T) {
	ms := Detect("11010519491231002X")
	require.NotEmpty(t, ms)
	assert.Equal(t, KindIDCard, ms[0].Kind)

	ms = Detect("13800138000")
	require.NotEmpty(t, ms)
	assert.Equal(t, KindMobile, ms[0].Kind)

	for i := 1; i < len(ms); i++ {
		assert.GreaterOrEqual(t, ms[i-1].Confidence, ms[i].Confidence)
	}
	assert.Empty(t, Detect("hello world"))
	assert.Equal(t, KindEmail, Detect("a@b.cn")[0].Kind)
	assert.Equal(t, KindChineseName, Detect("张三")[0].Kind)
	assert.Equal(t, KindAddress, Detect("北京市海淀区中关村大街27号")[0].Kind)
}

func TestAddressRegion(t *testing.T) {
	cases := []struct{ to, in, want string }{
		{"district", "北京市朝阳区建国路88号", "北京市朝阳区"},
		{"district", "广东省深圳市南山区科技园科苑路15号", "广东省深圳市南山区"},
		{"district", "杭州市西湖区文三路90号", "杭州市西湖区"},
		{"district", "上海市浦东新区张江镇蔡伦路1号", "上海市浦东新区"},
		{"district", "新疆维吾尔自治区乌鲁木齐市天山区解放北路1号", "新疆维吾尔自治区乌鲁木齐市天山区"},
		{"district", "湖北省恩施土家族苗族自治州恩施市舞阳大街1号", "湖北省恩施土家族苗族自治州恩施市"},
		{"district", "浙江省义乌市稠城街道1号", "浙江省义乌市"},
		{"district", "北京市建国路小区3号", "北京市"}, // no district: the city
		{"city", "广东省深圳市南山区科技园", "广东省深圳市"},
		{"province", "广东省深圳市南山区科技园", "广东省"},
		{"district", "建国路88号", "******"},
		{"district", "北京市朝阳区", "******"}, // nothing to drop: masked entirely
		{"district", " 北京市朝阳区 ", "********"},
		{"district", "北京市张三家住朝阳区幸福路1号", "北京市"}, // not a district name: only the city
	}
	for _, c := range cases {
		r, err := NewRule("address_region", Params{"to": c.to})
		require.NoError(t, err)
		assert.Equal(t, c.want, r.Mask(c.in), "%s %q", c.to, c.in)
	}
}
