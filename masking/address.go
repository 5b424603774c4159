package masking

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// provinces are the short names of China's provincial-level divisions
// (GB/T 2260), longest first where one is a prefix of another.
var provinces = []string{"黑龙江", "内蒙古", "北京", "天津", "上海", "重庆", "河北", "山西", "辽宁", "吉林", "江苏", "浙江", "安徽",
	"福建", "江西", "山东", "河南", "湖北", "湖南", "广东", "海南", "四川", "贵州", "云南", "陕西", "甘肃", "青海", "台湾",
	"广西", "西藏", "宁夏", "新疆", "香港", "澳门"}

// provinceSuffixes may follow a province's short name, longest first.
var provinceSuffixes = []string{"维吾尔自治区", "壮族自治区", "回族自治区", "特别行政区", "自治区", "省", "市"}

// municipalities are provincial-level cities: their next level is the
// district.
var municipalities = map[string]bool{"北京": true, "天津": true, "上海": true, "重庆": true}

// streetMarkers mark the part of an address below the district.
var streetMarkers = []string{"街道", "大道", "胡同", "小区", "社区", "路", "街", "巷", "弄", "号", "村", "组", "栋", "幢", "单元", "室", "楼", "里"}

// notDistricts end words that contain 区 but are not districts.
var notDistricts = []string{"小区", "社区", "园区", "校区", "景区", "片区", "辖区", "学区", "营区", "厂区", "矿区", "街区"}

// region is where the administrative levels of an address end, as byte
// offsets into it (0: not found).
type region struct {
	province, city, district int
}

// parseRegion reads the province, prefecture-level city and county-level
// division at the start of an address: "广东省深圳市南山区科技园" has them
// end at 广东省|深圳市|南山区; a municipality's districts follow it
// directly ("北京市朝阳区…"). Each level is optional, but they come in
// order, each a short name (maxLevelName).
func parseRegion(v string) region {
	var r region
	pos := 0
	for _, p := range provinces {
		if !strings.HasPrefix(v, p) {
			continue
		}
		pos = len(p)
		for _, s := range provinceSuffixes {
			if strings.HasPrefix(v[pos:], s) {
				pos += len(s)
				break
			}
		}
		r.province = pos
		if municipalities[p] {
			r.city = pos
		}
		break
	}
	if r.city == 0 {
		if end := levelEnd(v[pos:], []string{"市", "自治州", "地区", "盟", "州"}); end > 0 {
			pos += end
			r.city = pos
		}
	}
	if end := levelEnd(v[pos:], []string{"新区", "区", "县", "旗", "市"}); end > 0 {
		r.district = pos + end
	}
	return r
}

// levelEnd returns the end of the level name that s starts with: the
// first occurrence of the first marker, in the order given, that closes a
// name of Han characters (2 to maxLevelName) with no street marker in it;
// or 0. The
// order matters: 杭州市 is a city by 市, not 杭州 by 州.
func levelEnd(s string, markers []string) int {
	for _, m := range markers {
		i := strings.Index(s, m)
		if i <= 0 {
			continue
		}
		name := s[:i+len(m)]
		if n := utf8.RuneCountInString(name); n < 2 || n > maxLevelName(name) || !allHan(name) {
			continue
		}
		if containsAny(name[:i], streetMarkers) || hasSuffixAny(name, notDistricts) {
			continue
		}
		return i + len(m)
	}
	return 0
}

// maxLevelName bounds a level's name in characters: 6 (乌鲁木齐市,
// 大兴安岭地区), or 12 for an autonomous one (恩施土家族苗族自治州). A
// longer run before a marker is not a level name, and taking it for one
// would carry whatever it holds (a name, a building) into a generalized
// address.
func maxLevelName(name string) int {
	if strings.Contains(name, "自治") {
		return 12
	}
	return 6
}

func allHan(s string) bool {
	for _, r := range s {
		if !unicode.Is(unicode.Han, r) {
			return false
		}
	}
	return true
}

func containsAny(s string, words []string) bool {
	for _, w := range words {
		if strings.Contains(s, w) {
			return true
		}
	}
	return false
}

func hasSuffixAny(s string, words []string) bool {
	for _, w := range words {
		if strings.HasSuffix(s, w) {
			return true
		}
	}
	return false
}

// sentencePunct are marks of running text, which addresses do not use.
const sentencePunct = "，。！？；：、,!?;\"“”"

// addressConfidence scores v as a postal address in China: the levels of
// parseRegion, then street-level markers (路, 号, 村, 室…). A province or
// city, a district and a street part score 0.95; a district and a street
// part 0.85; a street and a number (建国路88号) 0.6. Running text (with
// sentence punctuation) and values shorter than 6 characters score 0.
func addressConfidence(v string) float64 {
	v = strings.TrimSpace(v)
	n := utf8.RuneCountInString(v)
	if n < 6 || n > 200 || strings.ContainsAny(v, sentencePunct) {
		return 0
	}
	han := 0
	for _, r := range v {
		if unicode.Is(unicode.Han, r) {
			han++
		}
	}
	if han*2 < n {
		return 0
	}
	r := parseRegion(v)
	end := max(r.province, r.city, r.district)
	street := containsAny(v[end:], streetMarkers)
	hasNumber := strings.ContainsAny(v[end:], "0123456789０１２３４５６７８９") && containsAny(v[end:], []string{"号", "室", "栋", "幢", "单元", "楼", "弄"})
	switch {
	case r.district > 0 && (r.province > 0 || r.city > 0) && street:
		return 0.95
	case r.district > 0 && street:
		return 0.85
	case (r.province > 0 || r.city > 0) && street && hasNumber:
		return 0.85
	case street && hasNumber:
		return 0.6
	}
	return 0
}

// maskAddressRegion generalizes an address to its province, city or
// district (the rule's "to"): the administrative prefix parseRegion finds,
// or a coarser one when the finer level is missing. An address with none
// of them is masked entirely.
func maskAddressRegion(dst []byte, v string, r *Rule) []byte {
	t := strings.TrimSpace(v)
	g := parseRegion(t)
	end := 0
	switch r.text {
	case "province":
		end = g.province
	case "city":
		end = max(g.province, g.city)
	default:
		end = max(g.province, g.city, g.district)
	}
	if end == 0 || end == len(t) {
		return maskAll(dst, v, r.char)
	}
	return append(dst, t[:end]...)
}
