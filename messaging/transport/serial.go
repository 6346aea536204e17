package transport

import (
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"

	"go.bug.st/serial"
)

// SLIP framing (RFC 1055): a frame ends with END; END and ESC inside are
// escaped. A corrupted byte spoils one frame (the HMAC rejects it) and the
// next END resynchronises.
const (
	slipEnd    = 0xC0
	slipEsc    = 0xDB
	slipEscEnd = 0xDC
	slipEscEsc = 0xDD
)

// SLIPEncode returns pkt framed for a byte stream.
func SLIPEncode(pkt []byte) []byte {
	out := make([]byte, 0, len(pkt)+len(pkt)/32+2)
	out = append(out, slipEnd) // flush line noise before the frame
	for _, b := range pkt {
		switch b {
		case slipEnd:
			out = append(out, slipEsc, slipEscEnd)
		case slipEsc:
			out = append(out, slipEsc, slipEscEsc)
		default:
			out = append(out, b)
		}
	}
	return append(out, slipEnd)
}

// SLIPDecoder splits a byte stream into frames.
type SLIPDecoder struct {
	frame []byte
	esc   bool
	over  bool
}

// Feed consumes b and calls emit for each complete non-empty frame of at
// most MaxPacket bytes; longer frames are discarded.
func (d *SLIPDecoder) Feed(b []byte, emit func([]byte)) {
	for _, c := range b {
		switch {
		case c == slipEnd:
			if len(d.frame) > 0 && !d.over {
				emit(d.frame)
			}
			d.frame, d.esc, d.over = d.frame[:0], false, false
			continue
		case d.esc:
			d.esc = false
			switch c {
			case slipEscEnd:
				c = slipEnd
			case slipEscEsc:
				c = slipEsc
			}
		case c == slipEsc:
			d.esc = true
			continue
		}
		if len(d.frame) >= MaxPacket {
			d.over = true
			continue
		}
		d.frame = append(d.frame, c)
	}
}

// Serial is a serial-line medium (a null-modem cable, or a pseudo-terminal
// in tests). Writes go through a bounded queue so that a slow line drops
// packets instead of blocking the daemon.
type Serial struct {
	name    string
	port    io.ReadWriteCloser
	out     chan []byte
	closed  atomic.Bool
	once    sync.Once
	done    chan struct{}
	dec     SLIPDecoder
	pending [][]byte
	rbuf    []byte
	// Dropped counts packets dropped because the write queue was full.
	Dropped atomic.Uint64
}

// NewSerial opens device at baud, 8N1.
func NewSerial(device string, baud int) (*Serial, error) {
	p, err := serial.Open(device, &serial.Mode{BaudRate: baud, DataBits: 8, Parity: serial.NoParity, StopBits: serial.OneStopBit})
	if err != nil {
		return nil, fmt.Errorf("transport: serial %s: %w", device, err)
	}
	return NewStream("serial "+device, p), nil
}

// NewStream makes a medium of any byte stream (a serial port, a pipe).
func NewStream(name string, rw io.ReadWriteCloser) *Serial {
	s := &Serial{name: name, port: rw, out: make(chan []byte, 64), done: make(chan struct{}), rbuf: make([]byte, 4096)}
	go s.writer()
	return s
}

func (s *Serial) writer() {
	for {
		select {
		case <-s.done:
			return
		case f := <-s.out:
			if _, err := s.port.Write(f); err != nil && s.closed.Load() {
				return
			}
		}
	}
}

// Name implements Transport.
func (s *Serial) Name() string { return s.name }

// Send implements Transport.
func (s *Serial) Send(pkt []byte) error {
	if s.closed.Load() {
		return ErrClosed
	}
	select {
	case s.out <- SLIPEncode(pkt):
		return nil
	default:
		s.Dropped.Add(1)
		return fmt.Errorf("transport: %s: write queue full, packet dropped", s.name)
	}
}

// Recv implements Transport.
func (s *Serial) Recv(buf []byte) (int, error) {
	for len(s.pending) == 0 {
		if s.closed.Load() {
			return 0, ErrClosed
		}
		n, err := s.port.Read(s.rbuf)
		if s.closed.Load() {
			return 0, ErrClosed
		}
		if err != nil && n == 0 {
			if errors.Is(err, io.EOF) {
				// A pty whose other side is not open yet reads EOF/EIO:
				// keep trying; Close ends the loop.
				continue
			}
			return 0, fmt.Errorf("transport: %s: %w", s.name, err)
		}
		s.dec.Feed(s.rbuf[:n], func(f []byte) { s.pending = append(s.pending, append([]byte(nil), f...)) })
	}
	f := s.pending[0]
	s.pending = s.pending[1:]
	return copy(buf, f), nil
}

// Close implements Transport.
func (s *Serial) Close() error {
	var err error
	s.once.Do(func() {
		s.closed.Store(true)
		close(s.done)
		err = s.port.Close()
	})
	return err
}
