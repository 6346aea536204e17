package pengine

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
	"unsafe"

	"github.com/beevik/etree"
)

// ParseXML is a fast, allocation-lean XML reader for CIB documents. It
// builds the same etree tree as cib.Parse (elements and attributes; text
// and comments are dropped because the scheduler never reads them) at a
// fraction of encoding/xml's cost, and rejects input that is not
// well-formed. The root element must be <cib>. History entries
// (lrm_rsc_op) lose the attributes droppedHistoryAttr lists.
//
// The returned tree's strings share memory with data, so the caller must
// not modify data afterwards.
func ParseXML(data []byte) (*etree.Document, error) {
	return parseXML(data, nil)
}

// Input is a CIB read by ParseInput: the document without the history
// entries (lrm_rsc_op elements inside lrm_resource), which are kept beside
// it in the compact form the scheduler reads. Elements added to Doc later
// (for example injected history) are read as usual, after the kept ones.
// An Input with only Doc set (for example a tree from ParseXML) is
// computed exactly like ComputeDoc computes that tree.
type Input struct {
	// Doc is the CIB without its history entries.
	Doc *etree.Document

	history map[*etree.Element][]*histOp
}

// ParseInput reads a CIB like ParseXML but keeps the status section's
// history entries out of the element tree, which makes the tree of a large
// CIB much smaller (no etree element per lrm_rsc_op). ComputeInput gives the same result as ComputeDoc
// over ParseXML's tree. As with ParseXML, the caller must not modify data
// afterwards.
func ParseInput(data []byte) (*Input, error) {
	hist := make(map[*etree.Element][]*histOp, bytes.Count(data, []byte("<lrm_resource ")))
	doc, err := parseXML(data, hist)
	if err != nil {
		return nil, err
	}
	return &Input{Doc: doc, history: hist}, nil
}

func parseXML(data []byte, hist map[*etree.Element][]*histOp) (*etree.Document, error) {
	p := &xmlParser{data: data, hist: hist}
	if len(data) > 0 {
		p.str = unsafe.String(&data[0], len(data))
	}
	doc := etree.NewDocument()
	if err := p.parse(doc); err != nil {
		return nil, err
	}
	root := doc.Root()
	if root == nil {
		return nil, fmt.Errorf("%w: no root element", ErrMalformed)
	}
	if root.Tag != "cib" {
		return nil, fmt.Errorf("%w: root element is <%s>, want <cib>", ErrMalformed, root.Tag)
	}
	return doc, nil
}

// droppedHistoryAttr reports the lrm_rsc_op attributes the scheduler never
// reads; ParseXML leaves them out to keep large status sections small in
// memory.
func droppedHistoryAttr(k string) bool {
	switch k {
	case "exec-time", "queue-time", "crm-debug-origin", "exit-reason", "on_node":
		return true
	}
	return false
}

type xmlParser struct {
	data    []byte
	str     string
	pos     int
	scratch []etree.Attr
	// hist, when not nil, receives the lrm_rsc_op children of lrm_resource
	// elements instead of the tree (ParseInput).
	hist map[*etree.Element][]*histOp
	slab []histOp
	// blocks the tree's elements and attributes are carved from
	elems []etree.Element
	attrs []etree.Attr
	// the entries of the lrm_resource being read are gathered in
	// group (the tail of arena) and stored in hist when another
	// lrm_resource starts, so hist is written once per lrm_resource
	group  *etree.Element
	gstart int
	arena  []*histOp
}

// addHist records history entry h of lrm_resource element re.
func (p *xmlParser) addHist(re *etree.Element, h *histOp) {
	if re != p.group {
		p.flushHist()
		p.group = re
	}
	if len(p.arena) == cap(p.arena) {
		// a new block; the group read so far moves along
		next := make([]*histOp, 0, max(4096, 2*(len(p.arena)-p.gstart)))
		next = append(next, p.arena[p.gstart:]...)
		p.arena, p.gstart = next, 0
	}
	p.arena = append(p.arena, h)
}

// flushHist stores the gathered group in hist.
func (p *xmlParser) flushHist() {
	if p.group == nil {
		return
	}
	g := p.arena[p.gstart:len(p.arena):len(p.arena)]
	if prev := p.hist[p.group]; prev != nil {
		g = append(prev[:len(prev):len(prev)], g...)
	}
	p.hist[p.group] = g
	p.gstart = len(p.arena)
	p.group = nil
}

// newElement returns an element named n (split at the first ':' like
// etree.NewElement) from a preallocated block. Unlike etree.NewElement its
// Attr and Child are nil until filled; the caller attaches it with AddChild.
func (p *xmlParser) newElement(n string) *etree.Element {
	if len(p.elems) == 0 {
		p.elems = make([]etree.Element, 1024)
	}
	e := &p.elems[0]
	p.elems = p.elems[1:]
	if i := strings.IndexByte(n, ':'); i >= 0 {
		e.Space, e.Tag = n[:i], n[i+1:]
	} else {
		e.Tag = n
	}
	return e
}

// newAttrs returns a slice of n attributes (capacity n) from a
// preallocated block.
func (p *xmlParser) newAttrs(n int) []etree.Attr {
	if len(p.attrs) < n {
		p.attrs = make([]etree.Attr, max(4096, n))
	}
	a := p.attrs[:n:n]
	p.attrs = p.attrs[n:]
	return a
}

// newHistOp returns a zeroed histOp from a preallocated block.
func (p *xmlParser) newHistOp() *histOp {
	if len(p.slab) == 0 {
		p.slab = make([]histOp, 1024)
	}
	h := &p.slab[0]
	p.slab = p.slab[1:]
	return h
}

func (p *xmlParser) errf(format string, args ...any) error {
	line := 1 + strings.Count(string(p.data[:min(p.pos, len(p.data))]), "\n")
	return fmt.Errorf("%w: line %d: %s", ErrMalformed, line, fmt.Sprintf(format, args...))
}

func isNameByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.' || c == ':' || c >= 0x80
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func (p *xmlParser) name() (string, error) {
	start := p.pos
	for p.pos < len(p.data) && isNameByte(p.data[p.pos]) {
		p.pos++
	}
	if p.pos == start {
		return "", p.errf("expected a name")
	}
	c := p.data[start]
	if c >= '0' && c <= '9' || c == '-' || c == '.' {
		return "", p.errf("invalid name")
	}
	// names share data's memory like values do
	return p.str[start:p.pos], nil
}

func (p *xmlParser) skipSpace() {
	for p.pos < len(p.data) && isSpace(p.data[p.pos]) {
		p.pos++
	}
}

func (p *xmlParser) skipUntil(term string) error {
	i := strings.Index(string(p.data[p.pos:]), term)
	if i < 0 {
		return p.errf("unterminated construct, missing %q", term)
	}
	p.pos += i + len(term)
	return nil
}

func (p *xmlParser) value(a, b int) (string, bool) {
	seg := p.data[a:b]
	for _, c := range seg {
		if c == '&' || c == '<' || c >= 0x80 {
			return decodeEntities(seg)
		}
	}
	return p.str[a:b], true
}

// validText reports whether character data is well-formed, without
// allocating in the common case (no entity references).
func validText(b []byte) bool {
	for _, c := range b {
		if c == '&' || c >= 0x80 {
			_, ok := decodeEntities(b)
			return ok
		}
		if c == '<' {
			return false
		}
	}
	return true
}

func decodeEntities(b []byte) (string, bool) {
	if !utf8.Valid(b) {
		return "", false
	}
	i := 0
	for i < len(b) && b[i] != '&' {
		if b[i] == '<' {
			return "", false
		}
		i++
	}
	if i == len(b) {
		return string(b), true
	}
	var sb strings.Builder
	sb.Write(b[:i])
	for i < len(b) {
		c := b[i]
		if c == '<' {
			return "", false
		}
		if c != '&' {
			sb.WriteByte(c)
			i++
			continue
		}
		j := i + 1
		for j < len(b) && b[j] != ';' && j-i < 12 {
			j++
		}
		if j >= len(b) || b[j] != ';' {
			return "", false
		}
		ent := string(b[i+1 : j])
		switch ent {
		case "lt":
			sb.WriteByte('<')
		case "gt":
			sb.WriteByte('>')
		case "amp":
			sb.WriteByte('&')
		case "quot":
			sb.WriteByte('"')
		case "apos":
			sb.WriteByte('\'')
		default:
			if len(ent) > 1 && ent[0] == '#' {
				var n uint64
				var err error
				if ent[1] == 'x' || ent[1] == 'X' {
					n, err = strconv.ParseUint(ent[2:], 16, 32)
				} else {
					n, err = strconv.ParseUint(ent[1:], 10, 32)
				}
				if err != nil || n == 0 || n > utf8.MaxRune {
					return "", false
				}
				sb.WriteRune(rune(n))
			} else {
				return "", false
			}
		}
		i = j + 1
	}
	return sb.String(), true
}

func (p *xmlParser) parse(doc *etree.Document) error {
	var stack []*etree.Element
	var root *etree.Element
	d := p.data
	for p.pos < len(d) {
		c := d[p.pos]
		if c != '<' {
			// text: must not contain '<' and must close before EOF
			start := p.pos
			for p.pos < len(d) && d[p.pos] != '<' {
				p.pos++
			}
			if len(stack) == 0 {
				for _, b := range d[start:p.pos] {
					if !isSpace(b) {
						return p.errf("text outside the root element")
					}
				}
			} else if !validText(d[start:p.pos]) {
				return p.errf("invalid character data")
			}
			continue
		}
		if p.pos+1 >= len(d) {
			return p.errf("unexpected end of input")
		}
		switch d[p.pos+1] {
		case '?':
			p.pos += 2
			if err := p.skipUntil("?>"); err != nil {
				return err
			}
			continue
		case '!':
			rest := d[p.pos:]
			switch {
			case len(rest) >= 4 && string(rest[:4]) == "<!--":
				p.pos += 4
				if err := p.skipUntil("-->"); err != nil {
					return err
				}
			case len(rest) >= 9 && string(rest[:9]) == "<![CDATA[":
				if len(stack) == 0 {
					return p.errf("CDATA outside the root element")
				}
				p.pos += 9
				if err := p.skipUntil("]]>"); err != nil {
					return err
				}
			default:
				if len(stack) > 0 || root != nil {
					return p.errf("unexpected declaration")
				}
				p.pos += 2
				if err := p.skipUntil(">"); err != nil {
					return err
				}
			}
			continue
		case '/':
			p.pos += 2
			n, err := p.name()
			if err != nil {
				return err
			}
			p.skipSpace()
			if p.pos >= len(d) || d[p.pos] != '>' {
				return p.errf("malformed end tag")
			}
			p.pos++
			if len(stack) == 0 || stack[len(stack)-1].Tag != n {
				return p.errf("unexpected end tag </%s>", n)
			}
			stack = stack[:len(stack)-1]
			continue
		}
		p.pos++
		n, err := p.name()
		if err != nil {
			return err
		}
		if len(stack) == 0 && root != nil {
			return p.errf("more than one root element")
		}
		closed := false
		p.scratch = p.scratch[:0]
		for {
			sp := p.pos
			p.skipSpace()
			if p.pos >= len(d) {
				return p.errf("unexpected end of input in tag <%s>", n)
			}
			if d[p.pos] == '/' {
				if p.pos+1 >= len(d) || d[p.pos+1] != '>' {
					return p.errf("malformed empty-element tag")
				}
				p.pos += 2
				closed = true
				break
			}
			if d[p.pos] == '>' {
				p.pos++
				break
			}
			if sp == p.pos {
				return p.errf("missing space before attribute in <%s>", n)
			}
			k, err := p.name()
			if err != nil {
				return err
			}
			p.skipSpace()
			if p.pos >= len(d) || d[p.pos] != '=' {
				return p.errf("attribute %s without value", k)
			}
			p.pos++
			p.skipSpace()
			if p.pos >= len(d) || (d[p.pos] != '"' && d[p.pos] != '\'') {
				return p.errf("unquoted attribute value")
			}
			q := d[p.pos]
			p.pos++
			vs := p.pos
			for p.pos < len(d) && d[p.pos] != q {
				p.pos++
			}
			if p.pos >= len(d) {
				return p.errf("unterminated attribute value")
			}
			v, ok := p.value(vs, p.pos)
			if !ok {
				return p.errf("invalid attribute value")
			}
			p.pos++
			space, key := "", k
			if i := strings.IndexByte(k, ':'); i > 0 {
				space, key = k[:i], k[i+1:]
			}
			for _, a := range p.scratch {
				if a.Key == key && a.Space == space {
					return p.errf("duplicate attribute %s", k)
				}
			}
			if n == "lrm_rsc_op" && droppedHistoryAttr(k) {
				continue
			}
			p.scratch = append(p.scratch, etree.Attr{Space: space, Key: key, Value: v})
		}
		if p.hist != nil && n == "lrm_rsc_op" && len(stack) > 0 && stack[len(stack)-1].Tag == "lrm_resource" {
			h := p.newHistOp()
			histOpFromAttrs(h, p.scratch)
			p.addHist(stack[len(stack)-1], h)
			if !closed {
				// children of a history entry are never read: collect
				// them under a detached element
				stack = append(stack, etree.NewElement(n))
			}
			continue
		}
		e := p.newElement(n)
		if len(p.scratch) > 0 {
			e.Attr = p.newAttrs(len(p.scratch))
			copy(e.Attr, p.scratch)
		}
		if len(stack) == 0 {
			doc.AddChild(e)
			root = e
		} else {
			stack[len(stack)-1].AddChild(e)
		}
		if !closed {
			stack = append(stack, e)
		}
	}
	if len(stack) > 0 {
		return p.errf("unclosed element <%s>", stack[len(stack)-1].Tag)
	}
	if p.hist != nil {
		p.flushHist()
	}
	return nil
}
