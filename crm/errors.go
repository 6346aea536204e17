package crm

import "errors"

// Sentinel errors. Replies to clients wrap them; compare with errors.Is.
var (
	// ErrNoDC reports a write that found no DC before its deadline: the
	// partition has no quorum, or an election is still running.
	ErrNoDC = errors.New("crm: no DC")
	// ErrNotDC reports a write forwarded to a node that is no longer DC.
	ErrNotDC = errors.New("crm: not the DC")
	// ErrTimeout reports a write whose outcome is unknown: it may or may not
	// be in the CIB. The client may query and retry.
	ErrTimeout = errors.New("crm: write timed out, outcome unknown")
	// ErrDCChanged reports a write that was in flight when the DC changed:
	// its outcome is unknown, as with ErrTimeout.
	ErrDCChanged = errors.New("crm: DC changed, outcome unknown")
	// ErrLostInMerge reports a write the DC applied but then discarded
	// because a newer CIB won a partition merge; it is also listed in
	// Ready.Lost.
	ErrLostInMerge = errors.New("crm: write lost in a partition merge")
	// ErrMalformed reports a message that does not decode.
	ErrMalformed = errors.New("crm: malformed message")
	// ErrBadRequest reports an API call with invalid arguments.
	ErrBadRequest = errors.New("crm: bad request")
	// ErrRemote wraps the text of an error the DC returned for a forwarded
	// write when it is none of the cib sentinels.
	ErrRemote = errors.New("crm: DC refused the write")
)
