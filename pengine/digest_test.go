package pengine

import "testing"

func TestAppendEscapedAttrMatchesXMLEscapeAttr(t *testing.T) {
	for _, v := range []string{"", "plain", "a&b", "<x>", `q"uote`, "it's", "l1\nl2\r\t", "caf\u00e9", "bad\xffutf8", "1000"} {
		if got, want := string(appendEscapedAttr([]byte("p"), v)), "p"+xmlEscapeAttr(v); got != want {
			t.Errorf("appendEscapedAttr(%q) = %q, want %q", v, got, want)
		}
	}
}

func TestThirdField(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		ok       bool
	}{{"1:2:7:uuid", "7", true}, {"1:2:0", "0", true}, {"1:2", "", false}, {"", "", false}, {"a::", "", true}} {
		got, ok := thirdField(tc.in)
		if got != tc.want || ok != tc.ok {
			t.Errorf("thirdField(%q) = %q, %v; want %q, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}
