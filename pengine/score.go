package pengine

import (
	"strconv"
	"strings"
)

// Infinity is Pacemaker's INFINITY score.
const Infinity = 1000000

// absent marks a node missing from an allowed-node table.
const absent = -1 << 40

func clampScore(v int) int {
	if v >= Infinity {
		return Infinity
	}
	if v <= -Infinity {
		return -Infinity
	}
	return v
}

// addScores adds two scores with Pacemaker's saturating rules: -INF wins.
func addScores(a, b int) int {
	if a <= -Infinity || b <= -Infinity {
		return -Infinity
	}
	if a >= Infinity || b >= Infinity {
		return Infinity
	}
	return clampScore(a + b)
}

// parseScore parses a score string; garbage yields def.
func parseScore(s string, def int) int {
	s = strings.TrimSpace(s)
	switch s {
	case "INFINITY", "+INFINITY", "infinity", "+infinity":
		return Infinity
	case "-INFINITY", "-infinity":
		return -Infinity
	case "":
		return def
	}
	if s == "red" || s == "yellow" || s == "green" {
		return def
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		// Accept leading integer prefix as strtoll does
		i := 0
		if i < len(s) && (s[i] == '-' || s[i] == '+') {
			i++
		}
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == 0 || (i == 1 && (s[0] == '-' || s[0] == '+')) {
			return def
		}
		v, err = strconv.ParseInt(s[:i], 10, 64)
		if err != nil {
			if strings.HasPrefix(s, "-") {
				return -Infinity
			}
			return Infinity
		}
	}
	if v > Infinity {
		return Infinity
	}
	if v < -Infinity {
		return -Infinity
	}
	return int(v)
}

func scoreString(v int) string {
	if v >= Infinity {
		return "INFINITY"
	}
	if v <= -Infinity {
		return "-INFINITY"
	}
	return strconv.Itoa(v)
}

// isTrue interprets Pacemaker booleans.
func isTrue(s string) bool {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true", "on", "yes", "y", "1":
		return true
	}
	return false
}

// parseBool returns (value, ok).
func parseBool(s string) (bool, bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true", "on", "yes", "y", "1":
		return true, true
	case "false", "off", "no", "n", "0":
		return false, true
	}
	return false, false
}

// parseIntervalMS parses an interval/timeout ("10", "10s", "5min", "PT10S",
// "100ms") into milliseconds; ok is false for garbage.
func parseIntervalMS(s string) (int64, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, false
	}
	if s[0] == 'P' {
		return parseISODuration(s)
	}
	i := 0
	for i < len(s) && (s[i] >= '0' && s[i] <= '9') {
		i++
	}
	if i == 0 {
		return 0, false
	}
	n, err := strconv.ParseInt(s[:i], 10, 64)
	if err != nil {
		return 0, false
	}
	unit := strings.ToLower(strings.TrimSpace(s[i:]))
	switch unit {
	case "", "s", "sec", "secs", "second", "seconds":
		return n * 1000, true
	case "ms", "msec", "msecs":
		return n, true
	case "us", "usec", "usecs":
		return n / 1000, true
	case "m", "min", "mins", "minute", "minutes":
		return n * 60000, true
	case "h", "hr", "hrs", "hour", "hours":
		return n * 3600000, true
	}
	return 0, false
}

func parseISODuration(s string) (int64, bool) {
	// PnYnMnDTnHnMnS (years/months approximated like Pacemaker: 365d/30d)
	var total int64
	inTime := false
	num := ""
	for _, c := range s[1:] {
		switch {
		case c >= '0' && c <= '9':
			num += string(c)
		case c == 'T':
			inTime = true
		default:
			if num == "" {
				return 0, false
			}
			n, _ := strconv.ParseInt(num, 10, 64)
			num = ""
			switch {
			case c == 'Y':
				total += n * 365 * 86400
			case c == 'M' && !inTime:
				total += n * 30 * 86400
			case c == 'W':
				total += n * 7 * 86400
			case c == 'D':
				total += n * 86400
			case c == 'H':
				total += n * 3600
			case c == 'M' && inTime:
				total += n * 60
			case c == 'S':
				total += n
			default:
				return 0, false
			}
		}
	}
	return total * 1000, true
}
