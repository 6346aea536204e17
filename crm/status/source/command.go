package source

import (
	"context"
	"errors"
	"fmt"
	"io"
)

// AttrOp is what an attribute command does.
type AttrOp int

// Attribute operations (crm_attribute -G, -v, -D).
const (
	AttrQuery AttrOp = iota
	AttrUpdate
	AttrDelete
)

// AttrCommand is one crm_attribute (or crm_standby) invocation.
type AttrCommand struct {
	Op    AttrOp
	Attr  Attr
	Value string // AttrUpdate
	// Default, when set, is printed by a query of an unset attribute
	// (crm_attribute -d) instead of failing.
	Default *string
	// Quiet prints only the value of a query.
	Quiet bool
}

// RunAttr runs c and prints what Pacemaker's crm_attribute prints: for a
// query "scope=SCOPE  name=NAME value=VALUE" (the value alone when quiet);
// for a delete written to the CIB "Deleted SCOPE attribute: id=ID name=NAME"
// (option for crm_config); nothing for an update. A query of an unset
// attribute without a default fails with ErrNoAttr; deleting an unset one
// succeeds.
func (s *Source) RunAttr(ctx context.Context, c AttrCommand, out io.Writer) error {
	a := c.Attr
	switch c.Op {
	case AttrQuery:
		v, _, err := s.Get(ctx, a)
		if errors.Is(err, ErrNoAttr) && c.Default != nil {
			v, err = *c.Default, nil
		}
		if errors.Is(err, ErrNoAttr) {
			return &wrapped{msg: fmt.Sprintf("Error performing operation: No such device or address (%s is not set in %s)", a.Name, a.Scope), err: ErrNoAttr}
		}
		if err != nil {
			return err
		}
		if c.Quiet {
			_, err = fmt.Fprintln(out, v)
		} else {
			_, err = fmt.Fprintf(out, "scope=%s  name=%s value=%s\n", a.Scope, a.Name, v)
		}
		return err
	case AttrUpdate:
		return s.Set(ctx, a, c.Value)
	case AttrDelete:
		id, err := s.Delete(ctx, a)
		if errors.Is(err, ErrNoAttr) {
			return nil
		}
		if err != nil || id == "" || c.Quiet {
			return err
		}
		kind := "attribute"
		if a.Scope == ScopeCRMConfig {
			kind = "option"
		}
		_, err = fmt.Fprintf(out, "Deleted %s %s: id=%s name=%s\n", a.Scope, kind, id, a.Name)
		return err
	}
	return fmt.Errorf("unknown attribute operation %d", c.Op)
}

// ResolveNode returns node, or for "" the local node: "" live (crmd acts
// on its own node), the host name with a file.
func (s *Source) ResolveNode(ctx context.Context, node string) (string, error) {
	if node != "" || s.Live() {
		return node, nil
	}
	return s.LocalNode(ctx)
}

// wrapped is an error with its own message and a cause for errors.Is.
type wrapped struct {
	msg string
	err error
}

func (w *wrapped) Error() string { return w.msg }
func (w *wrapped) Unwrap() error { return w.err }
