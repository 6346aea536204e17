package server

import (
	"errors"
	"net/netip"

	"github.com/systole/systole/messaging"
	"github.com/systole/systole/messaging/transport"
)

// OpenMedia opens the media an ha.cf names, in the order of
// HaCf.MediaNames, closing what it opened if one fails.
func OpenMedia(h *messaging.HaCf) ([]transport.Transport, error) {
	var out []transport.Transport
	fail := func(err error) ([]transport.Transport, error) {
		for _, t := range out {
			t.Close()
		}
		return nil, err
	}
	for _, i := range h.Bcast {
		t, err := transport.NewBcast(i, h.UDPPort)
		if err != nil {
			return fail(err)
		}
		out = append(out, t)
	}
	for _, m := range h.Mcast {
		t, err := transport.NewMcast(m.Iface, m.Group, m.Port, m.TTL, m.Loop)
		if err != nil {
			return fail(err)
		}
		out = append(out, t)
	}
	for _, i := range h.UcastIfaces() {
		var peers []netip.Addr
		for _, u := range h.Ucast {
			if u.Iface == i {
				peers = append(peers, u.Peer)
			}
		}
		t, err := transport.NewUcastBind(i, h.Bind, h.UDPPort, peers)
		if err != nil {
			return fail(err)
		}
		out = append(out, t)
	}
	for _, d := range h.Serial {
		t, err := transport.NewSerial(d, h.Baud)
		if err != nil {
			return fail(err)
		}
		out = append(out, t)
	}
	if len(out) != len(h.MediaNames()) {
		return fail(errors.New("server: media count mismatch"))
	}
	return out, nil
}
