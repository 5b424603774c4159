package masking

// idWeights are the MOD 11-2 weights of GB 11643 for the first 17 digits.
var idWeights = [17]int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}

// idCheck returns the GB 11643 check character of the first 17 digits.
func idCheck(d []byte) byte {
	sum := 0
	for i, w := range idWeights {
		sum += int(d[i]-'0') * w
	}
	return "10X98765432"[sum%11]
}

// idShape reports whether b (upper-case ASCII) is 17 digits and a digit
// or X, or 15 digits.
func idShape(b []byte) bool {
	switch len(b) {
	case 18:
		return countAllDigits(b[:17]) == 17 && (b[17] >= '0' && b[17] <= '9' || b[17] == 'X')
	case 15:
		return countAllDigits(b) == 15
	}
	return false
}

// luhnCheck returns the Luhn check digit for payload (digits, the check
// digit to be appended on the right).
func luhnCheck(payload []byte) byte {
	sum, double := 0, true
	for i := len(payload) - 1; i >= 0; i-- {
		d := int(payload[i] - '0')
		if double {
			if d *= 2; d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return byte('0' + (10-sum%10)%10)
}

// luhnValid reports whether the digits b end in a valid Luhn check digit.
func luhnValid(b []byte) bool {
	return len(b) >= 2 && luhnCheck(b[:len(b)-1]) == b[len(b)-1]
}

// usccAlphabet is the GB 32100 character set: digits and upper-case
// letters without I, O, S, V and Z.
const usccAlphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"

var usccWeights = [17]int{1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28}

func usccValue(c byte) int {
	for i := 0; i < len(usccAlphabet); i++ {
		if usccAlphabet[i] == c {
			return i
		}
	}
	return -1
}

// usccCheck returns the GB 32100 check character of the first 17.
func usccCheck(b []byte) byte {
	sum := 0
	for i, w := range usccWeights {
		sum += usccValue(b[i]) * w
	}
	return usccAlphabet[(31-sum%31)%31]
}

// orgCodeCheck returns the GB 11714 check character of an 8-character
// organization code body.
func orgCodeCheck(b []byte) byte {
	weights := [8]int{3, 7, 9, 10, 5, 8, 4, 2}
	sum := 0
	for i, w := range weights {
		c := b[i]
		v := int(c - '0')
		if c >= 'A' && c <= 'Z' {
			v = int(c-'A') + 10
		}
		sum += v * w
	}
	switch c := 11 - sum%11; c {
	case 10:
		return 'X'
	case 11:
		return '0'
	default:
		return byte('0' + c)
	}
}
