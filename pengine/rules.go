package pengine

import (
	"strconv"
	"strings"
	"time"

	"github.com/beevik/etree"
)

// ruleCtx is what a rule can look at.
type ruleCtx struct {
	nodeAttrs map[string]string
	now       int64
	rscClass  string
	rscProv   string
	rscType   string
	opName    string
	opIntvl   int64
	hasRsc    bool
	hasOp     bool
	params    map[string]string
	meta      map[string]string
	matches   []string // rsc-pattern submatches
}

// evalRule evaluates a <rule>. Empty rules are true.
func (s *sched) evalRule(rule *etree.Element, ctx *ruleCtx) bool {
	rule = s.resolveRef(rule)
	op := strings.ToLower(rule.SelectAttrValue("boolean-op", "and"))
	any := false
	passed := op != "or"
	empty := true
	for _, c := range rule.ChildElements() {
		var r bool
		switch c.Tag {
		case "expression":
			r = s.evalExpr(s.resolveRef(c), ctx)
		case "date_expression":
			r = s.evalDateExpr(s.resolveRef(c), ctx)
		case "rule":
			r = s.evalRule(c, ctx)
		case "rsc_expression":
			r = evalRscExpr(c, ctx)
		case "op_expression":
			r = evalOpExpr(c, ctx)
		default:
			continue
		}
		empty = false
		any = true
		if op == "or" {
			if r {
				return true
			}
			passed = false
		} else if !r {
			return false
		}
	}
	_ = any
	if empty {
		return true
	}
	return passed
}

func evalRscExpr(e *etree.Element, ctx *ruleCtx) bool {
	if !ctx.hasRsc {
		return true
	}
	if v := e.SelectAttr("class"); v != nil && v.Value != ctx.rscClass {
		return false
	}
	if v := e.SelectAttr("provider"); v != nil && v.Value != ctx.rscProv {
		return false
	}
	if v := e.SelectAttr("type"); v != nil && v.Value != ctx.rscType {
		return false
	}
	return true
}

func evalOpExpr(e *etree.Element, ctx *ruleCtx) bool {
	if !ctx.hasOp {
		return true
	}
	if v := e.SelectAttr("name"); v != nil && v.Value != ctx.opName {
		return false
	}
	if v := e.SelectAttr("interval"); v != nil {
		ms, ok := parseIntervalMS(v.Value)
		if !ok || ms != ctx.opIntvl {
			return false
		}
	}
	return true
}

func expandSubmatch(s string, m []string) string {
	if len(m) == 0 || !strings.Contains(s, "%") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+1 < len(s) && s[i+1] >= '0' && s[i+1] <= '9' {
			k := int(s[i+1] - '0')
			if k < len(m) {
				b.WriteString(m[k])
			}
			i++
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func (s *sched) evalExpr(e *etree.Element, ctx *ruleCtx) bool {
	attr := expandSubmatch(e.SelectAttrValue("attribute", ""), ctx.matches)
	op := e.SelectAttrValue("operation", "")
	valAttr := e.SelectAttr("value")
	typ := strings.ToLower(e.SelectAttrValue("type", ""))
	src := e.SelectAttrValue("value-source", "literal")
	var value string
	hasValue := valAttr != nil
	if hasValue {
		value = expandSubmatch(valAttr.Value, ctx.matches)
	}
	if hasValue && src == "param" {
		value, hasValue = ctx.params[value]
	} else if hasValue && src == "meta" {
		value, hasValue = ctx.meta[value]
	}
	var left string
	var ok bool
	if ctx.nodeAttrs != nil {
		left, ok = ctx.nodeAttrs[attr]
	}
	switch op {
	case "defined":
		return ok
	case "not_defined":
		return !ok
	}
	if !ok {
		return op == "ne"
	}
	if !hasValue {
		return op == "ne"
	}
	cmp, okc := compareValues(left, value, typ, op)
	if !okc {
		return op == "ne"
	}
	switch op {
	case "eq":
		return cmp == 0
	case "ne":
		return cmp != 0
	case "lt":
		return cmp < 0
	case "lte":
		return cmp <= 0
	case "gt":
		return cmp > 0
	case "gte":
		return cmp >= 0
	}
	return false
}

func compareValues(l, r, typ, op string) (int, bool) {
	if typ == "" {
		if op == "lt" || op == "lte" || op == "gt" || op == "gte" {
			if strings.Contains(l, ".") || strings.Contains(r, ".") {
				typ = "number"
			} else {
				typ = "integer"
			}
		} else {
			typ = "string"
		}
	}
	switch typ {
	case "integer", "int":
		a, e1 := strconv.ParseInt(strings.TrimSpace(l), 10, 64)
		b, e2 := strconv.ParseInt(strings.TrimSpace(r), 10, 64)
		if e1 != nil || e2 != nil {
			fa, e3 := strconv.ParseFloat(strings.TrimSpace(l), 64)
			fb, e4 := strconv.ParseFloat(strings.TrimSpace(r), 64)
			if e3 == nil && e4 == nil {
				return cmpF(fa, fb), true
			}
			return strCmpFold(l, r), true
		}
		switch {
		case a < b:
			return -1, true
		case a > b:
			return 1, true
		}
		return 0, true
	case "number":
		fa, e1 := strconv.ParseFloat(strings.TrimSpace(l), 64)
		fb, e2 := strconv.ParseFloat(strings.TrimSpace(r), 64)
		if e1 != nil || e2 != nil {
			return strCmpFold(l, r), true
		}
		return cmpF(fa, fb), true
	case "version":
		return compareVersion(l, r), true
	}
	return strCmpFold(l, r), true
}

func cmpF(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func strCmpFold(a, b string) int {
	a, b = strings.ToLower(a), strings.ToLower(b)
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func compareVersion(a, b string) int {
	pa := strings.Split(a, ".")
	pb := strings.Split(b, ".")
	for i := 0; i < len(pa) || i < len(pb); i++ {
		var x, y int64
		if i < len(pa) {
			x, _ = strconv.ParseInt(pa[i], 10, 64)
		}
		if i < len(pb) {
			y, _ = strconv.ParseInt(pb[i], 10, 64)
		}
		if x < y {
			return -1
		}
		if x > y {
			return 1
		}
	}
	return 0
}

func (s *sched) evalDateExpr(e *etree.Element, ctx *ruleCtx) bool {
	op := e.SelectAttrValue("operation", "in_range")
	now := ctx.now
	var start, end int64
	hasStart, hasEnd := false, false
	if v := e.SelectAttr("start"); v != nil {
		if t, ok := parseISO8601(v.Value); ok {
			start, hasStart = t, true
		}
	}
	if v := e.SelectAttr("end"); v != nil {
		if t, ok := parseISO8601(v.Value); ok {
			end, hasEnd = t, true
		}
	}
	switch op {
	case "gt":
		return hasStart && now > start
	case "lt":
		return hasEnd && now < end
	case "in_range":
		if !hasEnd && hasStart {
			if d := e.SelectElement("duration"); d != nil {
				end, hasEnd = addDuration(start, d), true
			}
		}
		if !hasStart && !hasEnd {
			return false
		}
		if hasStart && now < start {
			return false
		}
		if hasEnd && now > end {
			return false
		}
		return true
	case "date_spec":
		ds := e.SelectElement("date_spec")
		if ds == nil {
			return false
		}
		return evalDateSpec(s.resolveRef(ds), now)
	}
	return false
}

func addDuration(start int64, d *etree.Element) int64 {
	t := time.Unix(start, 0).UTC()
	get := func(n string) int {
		v, _ := strconv.Atoi(d.SelectAttrValue(n, "0"))
		return v
	}
	t = t.AddDate(get("years"), get("months"), get("days")+7*get("weeks"))
	t = t.Add(time.Duration(get("hours"))*time.Hour + time.Duration(get("minutes"))*time.Minute + time.Duration(get("seconds"))*time.Second)
	return t.Unix()
}

func inRanges(spec string, v int) bool {
	spec = strings.TrimSpace(spec)
	if spec == "" {
		return true
	}
	for _, part := range strings.Split(spec, ",") {
		part = strings.TrimSpace(part)
		if i := strings.Index(part, "-"); i > 0 {
			lo, e1 := strconv.Atoi(strings.TrimSpace(part[:i]))
			hi, e2 := strconv.Atoi(strings.TrimSpace(part[i+1:]))
			if e1 == nil && e2 == nil && v >= lo && v <= hi {
				return true
			}
			if e1 == nil && strings.TrimSpace(part[i+1:]) == "" && v >= lo {
				return true
			}
			continue
		}
		n, err := strconv.Atoi(part)
		if err == nil && n == v {
			return true
		}
	}
	return false
}

func evalDateSpec(ds *etree.Element, now int64) bool {
	t := time.Unix(now, 0).UTC()
	wd := int(t.Weekday())
	if wd == 0 {
		wd = 7
	}
	wy, wk := t.ISOWeek()
	checks := []struct {
		name string
		v    int
	}{
		{"years", t.Year()}, {"months", int(t.Month())}, {"monthdays", t.Day()},
		{"hours", t.Hour()}, {"minutes", t.Minute()}, {"seconds", t.Second()},
		{"yeardays", t.YearDay()}, {"weekyears", wy}, {"weeks", wk}, {"weekdays", wd},
		{"moon", 0},
	}
	for _, c := range checks {
		if a := ds.SelectAttr(c.name); a != nil {
			if c.name == "moon" {
				continue
			}
			if !inRanges(a.Value, c.v) {
				return false
			}
		}
	}
	return true
}

// parseISO8601 parses the date forms Pacemaker accepts into epoch seconds
// (UTC unless an offset is given).
func parseISO8601(s string) (int64, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, false
	}
	datePart, timePart := s, ""
	if i := strings.IndexAny(s, "T "); i >= 0 {
		datePart, timePart = s[:i], strings.TrimSpace(s[i+1:])
	}
	var y, m, d int
	var base time.Time
	switch {
	case strings.Contains(datePart, "-W"):
		p := strings.Split(datePart, "-")
		if len(p) < 2 {
			return 0, false
		}
		y, _ = strconv.Atoi(p[0])
		w, _ := strconv.Atoi(strings.TrimPrefix(p[1], "W"))
		wd := 1
		if len(p) > 2 {
			wd, _ = strconv.Atoi(p[2])
		}
		jan4 := time.Date(y, 1, 4, 0, 0, 0, 0, time.UTC)
		off := int(jan4.Weekday())
		if off == 0 {
			off = 7
		}
		mon := jan4.AddDate(0, 0, 1-off)
		base = mon.AddDate(0, 0, (w-1)*7+wd-1)
	default:
		p := strings.Split(datePart, "-")
		var err error
		if y, err = strconv.Atoi(p[0]); err != nil {
			return 0, false
		}
		switch {
		case len(p) == 2 && len(p[1]) == 3:
			yd, err := strconv.Atoi(p[1])
			if err != nil {
				return 0, false
			}
			base = time.Date(y, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, yd-1)
		case len(p) >= 3:
			m, _ = strconv.Atoi(p[1])
			d, _ = strconv.Atoi(p[2])
			base = time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC)
		case len(p) == 2:
			m, _ = strconv.Atoi(p[1])
			base = time.Date(y, time.Month(m), 1, 0, 0, 0, 0, time.UTC)
		default:
			base = time.Date(y, 1, 1, 0, 0, 0, 0, time.UTC)
		}
	}
	secs := base.Unix()
	if timePart != "" {
		offset := 0
		tp := timePart
		if strings.HasSuffix(tp, "Z") {
			tp = tp[:len(tp)-1]
		} else if i := strings.LastIndexAny(tp, "+-"); i > 0 {
			oz := tp[i+1:]
			sign := 1
			if tp[i] == '-' {
				sign = -1
			}
			oz = strings.ReplaceAll(oz, ":", "")
			if len(oz) >= 2 {
				oh, _ := strconv.Atoi(oz[:2])
				om := 0
				if len(oz) >= 4 {
					om, _ = strconv.Atoi(oz[2:4])
				}
				offset = sign * (oh*3600 + om*60)
			}
			tp = tp[:i]
		}
		tp = strings.TrimSpace(tp)
		parts := strings.Split(tp, ":")
		mult := []int64{3600, 60, 1}
		for i, p := range parts {
			if i > 2 {
				break
			}
			if j := strings.Index(p, "."); j >= 0 {
				p = p[:j]
			}
			v, err := strconv.ParseInt(p, 10, 64)
			if err != nil {
				return 0, false
			}
			secs += v * mult[i]
		}
		secs -= int64(offset)
	}
	return secs, true
}
