package client

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"regexp"

	"github.com/systole/systole/cib"
)

var startTagID = regexp.MustCompile(`^<([A-Za-z_][\w.:-]*)\b[^<>]*?\sid\s*=\s*["']([^"']*)["']`)

// WellFormed checks that data is one well-formed XML element and, if not,
// returns a one-line reason wrapping cib.ErrMalformed that gives the line
// and names the innermost open element that has an id, so that an operator
// can find the problem in a large file.
func WellFormed(data []byte) error {
	type open struct {
		tag, id string
		line    int
	}
	name := func(o open) string {
		if o.id != "" {
			return fmt.Sprintf("<%s id=%q>", o.tag, o.id)
		}
		return "<" + o.tag + ">"
	}
	var stack []open
	roots := 0
	d := xml.NewDecoder(bytes.NewReader(data))
	d.Strict = true
	// where names the element being read when the error struck: a start
	// tag cut short, else the innermost open element with an id.
	where := func() string {
		head := data[:min(int(d.InputOffset()), len(data))]
		if i := bytes.LastIndexByte(head, '<'); i >= 0 && bytes.IndexByte(head[i:], '>') < 0 {
			if m := startTagID.FindSubmatch(head[i:]); m != nil {
				return fmt.Sprintf(" (in <%s id=%q>)", m[1], m[2])
			}
		}
		for i := len(stack) - 1; i >= 0; i-- {
			if stack[i].id != "" {
				return fmt.Sprintf(" (in %s from line %d)", name(stack[i]), stack[i].line)
			}
		}
		return ""
	}
	notClosed := func(line int) error {
		top := stack[len(stack)-1]
		in := ""
		if top.id == "" {
			in = where()
		}
		return fmt.Errorf("%w: line %d: unexpected end of input, %s from line %d is not closed%s", cib.ErrMalformed, line, name(top), top.line, in)
	}
	for {
		line, _ := d.InputPos()
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			if len(stack) > 0 {
				return notClosed(line)
			}
			if roots == 0 {
				return fmt.Errorf("%w: no XML element found", cib.ErrMalformed)
			}
			return nil
		}
		if err != nil {
			var se *xml.SyntaxError
			if errors.As(err, &se) {
				if se.Msg == "unexpected EOF" && len(stack) > 0 && bytes.IndexByte(data[bytes.LastIndexByte(data, '<')+1:], '>') >= 0 {
					return notClosed(se.Line)
				}
				return fmt.Errorf("%w: line %d: %s%s", cib.ErrMalformed, se.Line, se.Msg, where())
			}
			return fmt.Errorf("%w: line %d: %v%s", cib.ErrMalformed, line, err, where())
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if len(stack) == 0 {
				roots++
				if roots > 1 {
					return fmt.Errorf("%w: line %d: a second top-level element <%s>; give one element", cib.ErrMalformed, line, t.Name.Local)
				}
			}
			o := open{tag: t.Name.Local, line: line}
			for _, a := range t.Attr {
				if a.Name.Local == "id" && a.Name.Space == "" {
					o.id = a.Value
				}
			}
			stack = append(stack, o)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) == 0 && len(bytes.TrimSpace(t)) > 0 {
				return fmt.Errorf("%w: line %d: text outside the top-level element", cib.ErrMalformed, line)
			}
		}
	}
}
