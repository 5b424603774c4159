package masking

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// commonSurnames are single-character Chinese surnames: the few hundred
// that between them cover nearly every resident (the Ministry of Public
// Security's yearly surname statistics rank them; the first 100 alone
// cover about 85 %). The order is roughly by frequency.
const commonSurnames = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付傅方白邹孟熊秦邱江尹薛闫阎段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤" +
	"常温康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿关兰焦俞左柳甘祝包宁尚符舒阮柯纪梅童凌毕单季裴霍涂成苗谷盛曲翁冉骆蓝路游辛靳管柴蒙鲍华喻祁蒲房滕屈饶解牟艾尤阳时穆农司卓古吉缪简车项连芦麦褚娄窦戚岑景党宫费卜冷晏席卫米柏宗瞿桂全佟应臧闵苟邬边卞姬师和仇栾隋商刁沙荣巫寇桑郎甄丛仲虞敖巩明佘池查麻苑迟邝官封谈匡鞠惠荆乐冀郁胥南班储原栗燕楚鄢劳谌奚皮粟冼蔺楼盘满闻位厉伊仝区郜海阚花权强帅屠豆朴盖练廉禹井祖漆巴丰支卿国狄平计索宣晋相初门云容敬来扈晁芮都普阙浦戈伏鹿薄邸雍辜羊阿乌母裘亓修邰赫杭况那宿鲜印逯隆茹诸战慎危玉银亢嵇公哈湛宾戎勾茅利於呼居揭干但尉冶斯元束檀衣信展阴昝智幸奉植衡富尧闭由"

// compoundSurnames are the two-character surnames still in use.
var compoundSurnames = []string{"欧阳", "司马", "上官", "诸葛", "东方", "皇甫", "尉迟", "公孙", "慕容", "长孙", "宇文", "司徒", "夏侯",
	"轩辕", "令狐", "钟离", "闻人", "独孤", "南宫", "西门", "端木", "百里", "呼延", "澹台", "公冶", "宗政", "濮阳", "淳于", "单于",
	"太叔", "申屠", "仲孙", "万俟", "司空", "东郭", "南门", "羊舌", "微生", "梁丘", "左丘", "东门", "公羊", "赫连", "拓跋"}

// notNameEndings end words that name places, organisations or things, not
// people: a value ending so is not taken for a name.
const notNameEndings = "部局处科室市省县区镇乡村路街号店厂司院校所队站馆园场楼厅会组社团委办署港湾桥山河湖江岛器机品箱车表卡费单票款"

// nameConfidence scores v as a Chinese personal name: 2 to 4 Han
// characters starting with a known surname (single or compound), or a
// transliterated minority or foreign name of Han characters joined by a
// middle dot (阿卜杜·热合曼). A 4-character name with a single surname
// scores lower (such names exist, but so do many 4-character words).
func nameConfidence(v string) float64 {
	v = strings.TrimSpace(v)
	n := utf8.RuneCountInString(v)
	if n < 2 || n > 24 {
		return 0
	}
	if strings.ContainsAny(v, "·•・‧") {
		return dottedNameConfidence(v)
	}
	if n > 4 {
		return 0
	}
	for _, r := range v {
		if !unicode.Is(unicode.Han, r) {
			return 0
		}
	}
	last, _ := utf8.DecodeLastRuneInString(v)
	if strings.ContainsRune(notNameEndings, last) {
		return 0
	}
	for _, s := range compoundSurnames {
		if strings.HasPrefix(v, s) && n >= 3 {
			return 0.9
		}
	}
	first, _ := utf8.DecodeRuneInString(v)
	i := strings.IndexRune(commonSurnames, first)
	switch {
	case i < 0:
		return 0
	case n == 4:
		return 0.4
	case i < 100*3: // the hundred commonest (3 bytes a character)
		return 0.85
	}
	return 0.7
}

// dottedNameConfidence: two to four parts of Han characters, each 1 to 8
// long, joined by middle dots.
func dottedNameConfidence(v string) float64 {
	parts := strings.FieldsFunc(v, func(r rune) bool { return strings.ContainsRune("·•・‧", r) })
	if len(parts) < 2 || len(parts) > 4 {
		return 0
	}
	for _, p := range parts {
		k := utf8.RuneCountInString(p)
		if k < 1 || k > 8 {
			return 0
		}
		for _, r := range p {
			if !unicode.Is(unicode.Han, r) {
				return 0
			}
		}
	}
	return 0.7
}
