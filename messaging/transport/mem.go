package transport

import (
	"sync"
)

// MemNetwork is an in-memory broadcast medium for tests: every packet a
// member sends reaches every other member that is not cut off.
type MemNetwork struct {
	mu      sync.Mutex
	name    string
	members map[*Mem]bool
}

// NewMemNetwork returns an empty network; name is the medium name its
// members report.
func NewMemNetwork(name string) *MemNetwork {
	return &MemNetwork{name: name, members: map[*Mem]bool{}}
}

// Attach returns a new member.
func (n *MemNetwork) Attach() *Mem {
	m := &Mem{net: n, in: make(chan []byte, 4096), done: make(chan struct{})}
	n.mu.Lock()
	n.members[m] = true
	n.mu.Unlock()
	return m
}

// Mem is one member of a MemNetwork.
type Mem struct {
	net  *MemNetwork
	in   chan []byte
	done chan struct{}
	once sync.Once
	mu   sync.Mutex
	cut  bool
}

// SetCut cuts (or restores) the member: while cut it neither sends nor
// receives, like an unplugged cable.
func (m *Mem) SetCut(cut bool) {
	m.mu.Lock()
	m.cut = cut
	m.mu.Unlock()
}

func (m *Mem) isCut() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.cut
}

// Name implements Transport.
func (m *Mem) Name() string { return m.net.name }

// Send implements Transport; a full receive queue drops the packet.
func (m *Mem) Send(pkt []byte) error {
	select {
	case <-m.done:
		return ErrClosed
	default:
	}
	if m.isCut() {
		return nil
	}
	m.net.mu.Lock()
	defer m.net.mu.Unlock()
	for o := range m.net.members {
		if o == m || o.isCut() {
			continue
		}
		select {
		case o.in <- append([]byte(nil), pkt...):
		default:
		}
	}
	return nil
}

// Recv implements Transport.
func (m *Mem) Recv(buf []byte) (int, error) {
	select {
	case p := <-m.in:
		return copy(buf, p), nil
	case <-m.done:
		return 0, ErrClosed
	}
}

// Close implements Transport.
func (m *Mem) Close() error {
	m.once.Do(func() {
		close(m.done)
		m.net.mu.Lock()
		delete(m.net.members, m)
		m.net.mu.Unlock()
	})
	return nil
}
