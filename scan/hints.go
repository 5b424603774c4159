package scan

import (
	"strings"
	"unicode"

	"github.com/gmfield/gmfield/masking"
)

// A hint is what a column's name says it holds: the kinds it suggests and
// whether the suggestion is strong (sfzh, 身份证号) or weak (name, tel).
type hint struct {
	kinds  []masking.Kind
	strong bool
}

// nameHints maps a token of a column name (English, pinyin initials or
// pinyin, lower case, separators removed) to what it suggests. A name
// matches when one of its tokens, or a run of consecutive tokens joined,
// is a key: "holder_id_no" matches "idno".
var nameHints = map[string]hint{}

// hanHints maps a Chinese substring of a column name to what it suggests.
var hanHints = []struct {
	sub string
	h   hint
}{
	{"身份证", strong(masking.KindIDCard)}, {"公民身份", strong(masking.KindIDCard)}, {"证件号", weak(masking.KindIDCard, masking.KindPassport)},
	{"护照", strong(masking.KindPassport)},
	{"银行卡", strong(masking.KindBankCard)}, {"银行账号", strong(masking.KindBankCard)}, {"卡号", weak(masking.KindBankCard)},
	{"手机", strong(masking.KindMobile)}, {"电话", weak(masking.KindMobile, masking.KindLandline)}, {"联系方式", weak(masking.KindMobile, masking.KindLandline)},
	{"固话", strong(masking.KindLandline)}, {"座机", strong(masking.KindLandline)}, {"传真", strong(masking.KindLandline)},
	{"邮箱", strong(masking.KindEmail)}, {"电子邮件", strong(masking.KindEmail)},
	{"姓名", strong(masking.KindChineseName)}, {"联系人", weak(masking.KindChineseName)}, {"名字", weak(masking.KindChineseName)},
	{"地址", strong(masking.KindAddress)}, {"住址", strong(masking.KindAddress)}, {"住所", strong(masking.KindAddress)}, {"户籍", weak(masking.KindAddress)},
	{"车牌", strong(masking.KindPlate)}, {"号牌", strong(masking.KindPlate)},
	{"出生", strong(KindBirthDate)}, {"生日", strong(KindBirthDate)},
	{"诊断", strong(KindHealth)}, {"病历", strong(KindHealth)}, {"病史", strong(KindHealth)}, {"疾病", strong(KindHealth)}, {"过敏", strong(KindHealth)}, {"症状", strong(KindHealth)}, {"健康", weak(KindHealth)},
	{"指纹", strong(KindBiometric)}, {"人脸", strong(KindBiometric)}, {"面部", strong(KindBiometric)}, {"虹膜", strong(KindBiometric)}, {"声纹", strong(KindBiometric)},
	{"经度", strong(KindLocation)}, {"纬度", strong(KindLocation)}, {"轨迹", strong(KindLocation)}, {"定位", strong(KindLocation)},
	{"信用代码", strong(masking.KindUSCC)},
}

// negativeTokens are tokens that name things, not people: a column named
// order_no whose values are shaped like mobile numbers holds order numbers.
var negativeTokens = map[string]bool{}

// negativeHan are the Chinese counterparts of negativeTokens.
var negativeHan = []string{"订单", "编号", "流水", "发票", "运单", "快递", "商品", "产品", "批次", "交易", "序列", "型号", "设备"}

// personTokens are the words before "name" that make it a person's name:
// user_name, guardian_name. Any other (company_name, file_name) does not.
var personTokens = map[string]bool{}

func init() {
	for _, t := range strings.Fields(`user cust customer contact real full true person owner holder patient legal applicant guardian
		emergency member student employee staff emp citizen resident driver passenger buyer receiver consignee sender recipient
		signer parent father mother spouse child teacher doctor nurse agent client account first last given family middle nick sur`) {
		personTokens[t] = true
	}
}

func strong(k ...masking.Kind) hint { return hint{k, true} }
func weak(k ...masking.Kind) hint   { return hint{k, false} }

func init() {
	add := func(h hint, names ...string) {
		for _, n := range names {
			nameHints[n] = h
		}
	}
	add(strong(masking.KindIDCard), "sfz", "sfzh", "sfzhm", "gmsfhm", "shenfenzheng", "idcard", "idcardno", "idno", "idnumber",
		"identityno", "identitycard", "citizenid", "nationalid", "residentid", "idcardnumber")
	add(weak(masking.KindIDCard, masking.KindPassport), "zjhm", "zjh", "certno", "certificateno", "documentno")
	add(strong(masking.KindPassport), "passport", "passportno", "hzh", "hzhm")
	add(strong(masking.KindBankCard), "bankcard", "bankcardno", "yhkh", "yhzh", "bankaccount", "bankacct", "iban", "debitcard", "creditcard")
	add(weak(masking.KindBankCard), "cardno", "accountno", "acctno")
	add(strong(masking.KindMobile), "mobile", "mobileno", "mobilephone", "cellphone", "cell", "shouji", "sjh", "sjhm", "msisdn")
	add(weak(masking.KindMobile, masking.KindLandline), "phone", "phoneno", "phonenumber", "tel", "telephone", "telno", "lxdh", "dh", "dhhm")
	add(strong(masking.KindLandline), "landline", "gddh", "fax", "czhm")
	add(strong(masking.KindEmail), "email", "emailaddress", "mail", "yxdz", "dzyx")
	add(weak(masking.KindEmail), "yx")
	add(strong(masking.KindChineseName), "xm", "xingming", "realname", "fullname", "truename", "personname", "lxr", "lxrxm", "customername", "holdername", "patientname")
	add(weak(masking.KindChineseName), "name", "contact", "contactname", "owner", "holder")
	add(strong(masking.KindAddress), "address", "addr", "dz", "zz", "jtzz", "hjdz", "jzdz", "xzz", "txdz", "homeaddress", "residence", "domicile")
	add(strong(masking.KindPlate), "plate", "plateno", "licenseplate", "cph", "cphm", "hphm", "carno", "vehicleplate")
	add(weak(masking.KindIPv4, masking.KindIPv6), "ip", "ipaddr", "ipaddress", "clientip", "loginip", "remoteip", "sourceip")
	add(strong(KindBirthDate), "birthday", "birthdate", "dateofbirth", "dob", "birth", "csrq")
	add(strong(KindHealth), "diagnosis", "disease", "illness", "symptom", "symptoms", "allergy", "allergies", "medicalhistory", "medicalrecord", "bingli", "zdjg", "jbmc")
	add(strong(KindBiometric), "fingerprint", "faceimage", "facefeature", "facetemplate", "faceid", "iris", "voiceprint", "biometric", "zwtz", "rlzp")
	add(strong(KindLocation), "latitude", "longitude", "lat", "lng", "lon", "gps", "geo", "trajectory", "geohash")
	add(strong(masking.KindUSCC), "uscc", "tyshxydm", "creditcode", "shxydm")
	for _, n := range []string{"order", "orderno", "orderid", "ddh", "ddbh", "sku", "spu", "product", "goods", "item", "serial", "serialno", "sn",
		"bh", "lsh", "invoice", "fph", "tracking", "trackingno", "waybill", "ydh", "batch", "txn", "trade", "transaction", "device", "model",
		"barcode", "isbn", "coupon", "ticket", "sequence", "seq"} {
		negativeTokens[n] = true
	}
}

// nameHint returns what a column's name suggests: the union of its hints'
// kinds (strong when any strong hint gave it), and whether the name says
// it holds something other than people's data.
func nameHint(name string) (h hint, negative bool) {
	add := func(x hint) { h = merge(h, x) }
	for _, s := range hanHints {
		if strings.Contains(name, s.sub) {
			add(s.h)
		}
	}
	for _, s := range negativeHan {
		if strings.Contains(name, s) {
			negative = true
		}
	}
	// The last word names what the column holds (contact_phone is a
	// phone); the words before it only qualify it. Hints of runs ending at
	// the last word win; without one, every hint counts.
	toks := tokens(name)
	last := len(toks) - 1
	for last > 0 && isDigits(toks[last]) {
		last--
	}
	var head, rest hint
	headStart := len(toks)
	for i := range toks {
		joined := ""
		for j := i; j < len(toks) && j < i+4; j++ {
			joined += toks[j]
			if joined == "name" && i > 0 && !personTokens[toks[i-1]] {
				continue // company_name, product_name: not a person's
			}
			if x, ok := nameHints[joined]; ok {
				if j == last {
					if i < headStart { // the longest run ending at the last word: id_card_no, not card_no
						head, headStart = x, i
					}
				} else {
					rest = merge(rest, x)
				}
			}
			if negativeTokens[joined] {
				negative = true
			}
		}
	}
	if len(head.kinds) > 0 {
		add(head)
	} else {
		add(rest)
	}
	return h, negative
}

// tokens splits a column name into lower-case ASCII words: at
// separators, case changes (idCardNo) and between letters and digits.
func tokens(name string) []string {
	var out []string
	var cur []rune
	flush := func() {
		if len(cur) > 0 {
			out = append(out, strings.ToLower(string(cur)))
			cur = cur[:0]
		}
	}
	var prev rune
	for _, r := range name {
		switch {
		case r > unicode.MaxASCII || !(unicode.IsLetter(r) || unicode.IsDigit(r)):
			flush()
		case unicode.IsUpper(r) && len(cur) > 0 && !unicode.IsUpper(prev):
			flush()
			cur = append(cur, r)
		case unicode.IsDigit(r) != unicode.IsDigit(prev) && len(cur) > 0:
			flush()
			cur = append(cur, r)
		default:
			cur = append(cur, r)
		}
		prev = r
	}
	flush()
	return out
}

func merge(a, b hint) hint {
	for _, k := range b.kinds {
		if !hasKind(a.kinds, k) {
			a.kinds = append(a.kinds, k)
		}
	}
	a.strong = a.strong || b.strong
	return a
}

func isDigits(s string) bool { return strings.Trim(s, "0123456789") == "" }

func hasKind(ks []masking.Kind, k masking.Kind) bool {
	for _, x := range ks {
		if x == k {
			return true
		}
	}
	return false
}
