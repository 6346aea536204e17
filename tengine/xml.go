package tengine

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// xnode is an element of the lean XML reader: a transition graph is only
// elements and attributes, and encoding/xml spent two thirds of the time
// of parsing a large graph.
type xnode struct {
	tag   string
	attrs []xattr
	kids  []*xnode
}

type xattr struct{ key, value string }

func (n *xnode) attr(k string) (string, bool) {
	for _, a := range n.attrs {
		if a.key == k {
			return a.value, true
		}
	}
	return "", false
}

func (n *xnode) attrValue(k string) string {
	v, _ := n.attr(k)
	return v
}

// maxDepth bounds nesting (a graph needs 5 levels).
const maxDepth = 64

// readXML parses a document made of elements, attributes, comments,
// processing instructions and whitespace (what a transition graph is).
// Text content, CDATA and DOCTYPE are refused.
func readXML(data []byte) (*xnode, error) {
	p := &xreader{s: string(data)}
	var root *xnode
	var stack []*xnode
	for {
		p.skipSpace()
		if p.i >= len(p.s) {
			break
		}
		if p.s[p.i] != '<' {
			return nil, p.errf("text content is not allowed")
		}
		switch {
		case strings.HasPrefix(p.s[p.i:], "<!--"):
			end := strings.Index(p.s[p.i+4:], "-->")
			if end < 0 {
				return nil, p.errf("unterminated comment")
			}
			p.i += 4 + end + 3
		case strings.HasPrefix(p.s[p.i:], "<?"):
			if len(stack) > 0 || root != nil {
				return nil, p.errf("processing instruction inside the document")
			}
			end := strings.Index(p.s[p.i+2:], "?>")
			if end < 0 {
				return nil, p.errf("unterminated processing instruction")
			}
			p.i += 2 + end + 2
		case strings.HasPrefix(p.s[p.i:], "</"):
			p.i += 2
			name, err := p.name()
			if err != nil {
				return nil, err
			}
			p.skipSpace()
			if p.i >= len(p.s) || p.s[p.i] != '>' {
				return nil, p.errf("expected > after </%s", name)
			}
			p.i++
			if len(stack) == 0 || stack[len(stack)-1].tag != name {
				return nil, p.errf("unexpected </%s>", name)
			}
			stack = stack[:len(stack)-1]
		case strings.HasPrefix(p.s[p.i:], "<!"):
			return nil, p.errf("DOCTYPE and CDATA are not allowed")
		default:
			p.i++
			name, err := p.name()
			if err != nil {
				return nil, err
			}
			n := &xnode{tag: name}
			closed := false
			for {
				sp := p.skipSpace()
				if p.i >= len(p.s) {
					return nil, p.errf("unexpected end of input in <%s>", name)
				}
				if p.s[p.i] == '>' {
					p.i++
					break
				}
				if strings.HasPrefix(p.s[p.i:], "/>") {
					p.i += 2
					closed = true
					break
				}
				if !sp {
					return nil, p.errf("expected space before an attribute in <%s>", name)
				}
				k, err := p.name()
				if err != nil {
					return nil, err
				}
				p.skipSpace()
				if p.i >= len(p.s) || p.s[p.i] != '=' {
					return nil, p.errf("expected = after %s", k)
				}
				p.i++
				p.skipSpace()
				v, err := p.value()
				if err != nil {
					return nil, err
				}
				if _, dup := n.attr(k); dup {
					return nil, p.errf("duplicate attribute %s in <%s>", k, name)
				}
				n.attrs = append(n.attrs, xattr{k, v})
			}
			if len(stack) == 0 {
				if root != nil {
					return nil, p.errf("a second root element <%s>", name)
				}
				root = n
			} else {
				parent := stack[len(stack)-1]
				parent.kids = append(parent.kids, n)
			}
			if !closed {
				if len(stack) >= maxDepth {
					return nil, p.errf("nesting deeper than %d", maxDepth)
				}
				stack = append(stack, n)
			}
		}
	}
	if len(stack) > 0 {
		return nil, p.errf("unexpected end of input: <%s> not closed", stack[len(stack)-1].tag)
	}
	if root == nil {
		return nil, p.errf("no root element")
	}
	return root, nil
}

type xreader struct {
	s string
	i int
}

func (p *xreader) errf(format string, a ...any) error {
	return fmt.Errorf("xml: offset %d: %s", p.i, fmt.Sprintf(format, a...))
}

func (p *xreader) skipSpace() bool {
	start := p.i
	for p.i < len(p.s) {
		switch p.s[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return p.i > start
		}
	}
	return p.i > start
}

func nameByte(c byte, first bool) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c == '_':
		return true
	case c >= '0' && c <= '9', c == '-', c == '.', c == ':':
		return !first
	}
	return false
}

func (p *xreader) name() (string, error) {
	start := p.i
	for p.i < len(p.s) && nameByte(p.s[p.i], p.i == start) {
		p.i++
	}
	if p.i == start {
		return "", p.errf("expected a name")
	}
	return p.s[start:p.i], nil
}

func (p *xreader) value() (string, error) {
	if p.i >= len(p.s) || (p.s[p.i] != '"' && p.s[p.i] != '\'') {
		return "", p.errf("expected a quoted value")
	}
	q := p.s[p.i]
	p.i++
	end := strings.IndexByte(p.s[p.i:], q)
	if end < 0 {
		return "", p.errf("unterminated value")
	}
	raw := p.s[p.i : p.i+end]
	p.i += end + 1
	if strings.IndexByte(raw, '<') >= 0 {
		return "", p.errf("< in an attribute value")
	}
	for _, r := range raw {
		if r == utf8.RuneError || !isXMLChar(r) {
			return "", p.errf("invalid character in an attribute value")
		}
	}
	if strings.IndexByte(raw, '&') < 0 && strings.IndexByte(raw, '\r') < 0 {
		return raw, nil
	}
	return unescape(raw, p)
}

// unescape decodes entities and turns CR LF and lone CR into LF, as
// encoding/xml (and so the CIB library) does; it does not fold other
// whitespace, like encoding/xml.
func unescape(raw string, p *xreader) (string, error) {
	var b strings.Builder
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		switch c {
		case '\r':
			if i+1 < len(raw) && raw[i+1] == '\n' {
				i++
			}
			b.WriteByte('\n')
			continue
		case '&':
		default:
			b.WriteByte(c)
			continue
		}
		end := strings.IndexByte(raw[i:], ';')
		if end < 0 {
			return "", p.errf("unterminated entity")
		}
		ent := raw[i+1 : i+end]
		i += end
		switch ent {
		case "amp":
			b.WriteByte('&')
		case "lt":
			b.WriteByte('<')
		case "gt":
			b.WriteByte('>')
		case "quot":
			b.WriteByte('"')
		case "apos":
			b.WriteByte('\'')
		default:
			if !strings.HasPrefix(ent, "#") {
				return "", p.errf("unknown entity &%s;", ent)
			}
			var n uint64
			var err error
			if strings.HasPrefix(ent, "#x") {
				n, err = strconv.ParseUint(ent[2:], 16, 32)
			} else {
				n, err = strconv.ParseUint(ent[1:], 10, 32)
			}
			r := rune(n)
			if err != nil || !isXMLChar(r) {
				return "", p.errf("invalid character reference &%s;", ent)
			}
			b.WriteRune(r)
		}
	}
	return b.String(), nil
}

func isXMLChar(r rune) bool {
	return r == 0x9 || r == 0xA || r == 0xD || (r >= 0x20 && r <= 0xD7FF) || (r >= 0xE000 && r <= 0xFFFD) || (r >= 0x10000 && r <= 0x10FFFF)
}
