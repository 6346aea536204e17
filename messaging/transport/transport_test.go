package transport

import (
	"bytes"
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"
)

var _ Transport = (*UDP)(nil)
var _ Transport = (*Serial)(nil)
var _ Transport = (*Mem)(nil)

func TestSLIPRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var stream []byte
	var want [][]byte
	for range 200 {
		p := make([]byte, 1+rng.IntN(300))
		for i := range p {
			p[i] = []byte{slipEnd, slipEsc, 0, 0xff, byte(i)}[rng.IntN(5)]
		}
		want = append(want, p)
		stream = append(stream, SLIPEncode(p)...)
	}
	var d SLIPDecoder
	var got [][]byte
	for len(stream) > 0 { // feed in random chunks
		n := min(len(stream), 1+rng.IntN(50))
		d.Feed(stream[:n], func(f []byte) { got = append(got, bytes.Clone(f)) })
		stream = stream[n:]
	}
	if len(got) != len(want) {
		t.Fatalf("%d frames, want %d", len(got), len(want))
	}
	for i := range want {
		if !bytes.Equal(got[i], want[i]) {
			t.Fatalf("frame %d differs", i)
		}
	}
}

func FuzzSLIPDecode(f *testing.F) {
	f.Add(SLIPEncode([]byte{1, slipEnd, 2, slipEsc}))
	f.Fuzz(func(t *testing.T, b []byte) {
		var d SLIPDecoder
		d.Feed(b, func(fr []byte) {
			var d2 SLIPDecoder
			n := 0
			d2.Feed(SLIPEncode(fr), func(g []byte) {
				n++
				if !bytes.Equal(g, fr) {
					t.Fatal("re-encoded frame differs")
				}
			})
			if n != 1 {
				t.Fatalf("%d frames", n)
			}
		})
	})
}

func TestUcastLoopback(t *testing.T) {
	for _, addr := range []string{"127.0.0.1", "::1"} {
		t.Run(addr, func(t *testing.T) {
			port := 20000 + rand.IntN(20000)
			a, err := NewUcast("", port, []netip.Addr{netip.MustParseAddr(addr)})
			if err != nil {
				t.Skip(err) // no IPv6 on this host, or port in use
			}
			defer a.Close()
			if err := a.Send([]byte("ping")); err != nil {
				t.Fatal(err)
			}
			buf := make([]byte, 100)
			done := make(chan int)
			go func() { n, _ := a.Recv(buf); done <- n }()
			select {
			case n := <-done:
				if string(buf[:n]) != "ping" {
					t.Fatalf("got %q", buf[:n])
				}
			case <-time.After(5 * time.Second):
				t.Fatal("no packet")
			}
			a.Close()
			if _, err := a.Recv(buf); err != ErrClosed {
				t.Fatalf("after close: %v", err)
			}
		})
	}
}

func TestMem(t *testing.T) {
	n := NewMemNetwork("mem")
	a, b := n.Attach(), n.Attach()
	a.Send([]byte("x"))
	buf := make([]byte, 10)
	if k, _ := b.Recv(buf); string(buf[:k]) != "x" {
		t.Fatal("not received")
	}
	b.SetCut(true)
	a.Send([]byte("y"))
	b.SetCut(false)
	a.Send([]byte("z"))
	if k, _ := b.Recv(buf); string(buf[:k]) != "z" {
		t.Fatalf("got %q", buf[:k])
	}
	b.Close()
	if _, err := b.Recv(buf); err != ErrClosed {
		t.Fatal(err)
	}
}
