package server

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sync"
	"syscall"
	"time"
	"unsafe"
)

// DefaultWatchdogDevice is the watchdog stonithd pets when
// stonith-watchdog-timeout > 0.
const DefaultWatchdogDevice = "/dev/watchdog"

// wdioSetTimeout is the Linux WDIOC_SETTIMEOUT ioctl (_IOWR('W', 6, int)).
const wdioSetTimeout = 0xc0045706

// watchdog pets a watchdog device while watchdog fencing is configured.
// Its methods are safe for concurrent use.
type watchdog struct {
	path string

	mu          sync.Mutex
	timeout     time.Duration
	f           *os.File
	stop        chan struct{}
	done        chan struct{}
	unavailable string
}

// SetWatchdogDevice sets the watchdog device path (default /dev/watchdog).
// Call before Run.
func (s *Server) SetWatchdogDevice(path string) { s.wd = &watchdog{path: path} }

// WatchdogUnavailable returns why watchdog fencing cannot be used on this
// node ("" when it can, or when it is not configured).
func (s *Server) WatchdogUnavailable() string {
	s.wd.mu.Lock()
	defer s.wd.mu.Unlock()
	return s.wd.unavailable
}

// configureWatchdog applies the configured timeout to the watchdog and
// returns why watchdog fencing is unavailable (called on the loop, from
// SetTopology).
func (s *Server) configureWatchdog(timeout time.Duration) string {
	why := s.wd.configure(timeout)
	if why != "" {
		s.log.Warn(why)
	}
	return why
}

// configure opens and pets the device when timeout > 0, and stops (with
// the magic close, so that the node is not reset) when it becomes 0.
func (w *watchdog) configure(timeout time.Duration) string {
	w.mu.Lock()
	defer w.mu.Unlock()
	if timeout == w.timeout && (timeout == 0 || w.f != nil) {
		return w.unavailable
	}
	w.closeLocked()
	w.timeout = timeout
	w.unavailable = ""
	if timeout <= 0 {
		return ""
	}
	f, err := os.OpenFile(w.path, os.O_WRONLY, 0)
	if err != nil {
		why := err.Error()
		var pe *fs.PathError
		if errors.As(err, &pe) {
			why = pe.Err.Error()
		}
		if errors.Is(err, fs.ErrNotExist) {
			why = "no such device"
		}
		w.unavailable = fmt.Sprintf("watchdog fencing unavailable: %s: %s", w.path, why)
		return w.unavailable
	}
	// The hardware resets the node when not petted for half the
	// stonith-watchdog-timeout (as SBD_WATCHDOG_TIMEOUT is set to half);
	// a fake device (tests) does not take the ioctl.
	secs := int32(max(timeout/2/time.Second, 1))
	_, _, _ = syscall.Syscall(syscall.SYS_IOCTL, f.Fd(), wdioSetTimeout, uintptr(unsafe.Pointer(&secs)))
	w.f = f
	w.stop, w.done = make(chan struct{}), make(chan struct{})
	go w.pet(f, min(max(timeout/4, 100*time.Millisecond), 5*time.Second), w.stop, w.done)
	return ""
}

func (w *watchdog) pet(f *os.File, every time.Duration, stop, done chan struct{}) {
	defer close(done)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if _, err := f.Write([]byte{'1'}); err != nil {
			return
		}
		select {
		case <-stop:
			return
		case <-t.C:
		}
	}
}

// closeLocked stops petting and disarms the device (magic close 'V').
func (w *watchdog) closeLocked() {
	if w.f == nil {
		return
	}
	close(w.stop)
	<-w.done
	_, _ = w.f.Write([]byte{'V'})
	_ = w.f.Close()
	w.f = nil
}

// close disarms the device; used when the server stops.
func (w *watchdog) close() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.closeLocked()
	w.timeout = 0
}
