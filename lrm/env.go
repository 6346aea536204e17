package lrm

import (
	"bytes"
	"sort"
	"strconv"
	"strings"
)

// OCF RA API version lrmd announces to agents.
const (
	OCFVersionMajor = "1"
	OCFVersionMinor = "1"
)

// ExitReasonPrefix marks the line on an agent's stderr that carries the
// human-readable reason for its exit code.
const ExitReasonPrefix = "ocf-exit-reason:"

// MaxExitReason bounds a parsed exit reason, in bytes.
const MaxExitReason = 256

// CRMFeatureSet is the value lrmd passes as OCF_RESKEY_crm_feature_set:
// some agents test it to decide which features the cluster has.
const CRMFeatureSet = "3.19.0"

// OCFEnv returns the variables Pacemaker sets for an OCF agent, sorted:
// OCF_ROOT, OCF_RA_VERSION_*, OCF_RESOURCE_*, OCF_EXIT_REASON_PREFIX,
// OCF_RESKEY_<param> for every parameter (OCF_CHECK_LEVEL under its own
// name), OCF_RESKEY_CRM_meta_<name> for every meta attribute plus
// timeout and interval in milliseconds and name, and
// OCF_RESKEY_crm_feature_set. The caller appends them to the inherited
// environment (PATH etc.).
func OCFEnv(cmd Command, ocfRoot string) []string {
	env := map[string]string{
		"OCF_ROOT":                   ocfRoot,
		"OCF_RA_VERSION_MAJOR":       OCFVersionMajor,
		"OCF_RA_VERSION_MINOR":       OCFVersionMinor,
		"OCF_RESOURCE_INSTANCE":      cmd.Rsc.ID,
		"OCF_RESOURCE_TYPE":          cmd.Rsc.Type,
		"OCF_RESOURCE_PROVIDER":      cmd.Rsc.Provider,
		"OCF_EXIT_REASON_PREFIX":     ExitReasonPrefix,
		"OCF_RESKEY_crm_feature_set": CRMFeatureSet,
	}
	for k, v := range cmd.Params {
		if !validEnvName(k) {
			continue
		}
		if k == "OCF_CHECK_LEVEL" {
			env[k] = v
			continue
		}
		env["OCF_RESKEY_"+k] = v
	}
	for k, v := range cmd.Meta {
		if !validEnvName(k) {
			continue
		}
		env["OCF_RESKEY_CRM_meta_"+k] = v
	}
	env["OCF_RESKEY_CRM_meta_timeout"] = strconv.FormatInt(cmd.Timeout.Milliseconds(), 10)
	env["OCF_RESKEY_CRM_meta_interval"] = strconv.FormatInt(cmd.Interval.Milliseconds(), 10)
	env["OCF_RESKEY_CRM_meta_name"] = cmd.Action
	out := make([]string, 0, len(env))
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}

// validEnvName rejects names that cannot be environment variable names
// (a '=' or NUL would corrupt the environment block). Pacemaker passes
// other names unchanged, and so does lrmd.
func validEnvName(k string) bool {
	return k != "" && !strings.ContainsAny(k, "=\x00")
}

// ParseExitReason returns the text after the last ocf-exit-reason: prefix
// on stderr, trimmed and bounded to MaxExitReason bytes, or "".
func ParseExitReason(stderr []byte) string {
	i := bytes.LastIndex(stderr, []byte(ExitReasonPrefix))
	if i < 0 {
		return ""
	}
	rest := stderr[i+len(ExitReasonPrefix):]
	if j := bytes.IndexByte(rest, '\n'); j >= 0 {
		rest = rest[:j]
	}
	s := strings.TrimSpace(string(rest))
	if len(s) > MaxExitReason {
		s = s[:MaxExitReason]
	}
	return strings.ToValidUTF8(s, "?")
}

// LSB status exit codes beyond the generic ones.
const (
	lsbStatusOK           = 0
	lsbStatusVarPID       = 1
	lsbStatusVarLock      = 2
	lsbStatusNotRunning   = 3
	lsbStatusNotInstalled = 150
	lsbStatusInsuffPriv   = 151
)

// LSBToOCF maps an init script's exit code to an OCF code as Pacemaker's
// services__lsb2ocf does. For status (lsbd's monitor): 0 -> 0; 1, 2, 3
// -> 7; 150 -> 5; 151 -> 4; anything else -> 1. For other actions codes
// 0..7 mean the same in LSB and OCF, anything else -> 1.
func LSBToOCF(action string, code int) int {
	if action != ActionMonitor && action != "status" {
		if code < 0 || code > RCNotRunning {
			return RCErrGeneric
		}
		return code
	}
	switch code {
	case lsbStatusOK:
		return RCOK
	case lsbStatusVarPID, lsbStatusVarLock, lsbStatusNotRunning:
		return RCNotRunning
	case lsbStatusNotInstalled:
		return RCErrInstalled
	case lsbStatusInsuffPriv:
		return RCErrPerm
	}
	return RCErrGeneric
}
