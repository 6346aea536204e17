// Command crm_simulate computes (and simulates) the transition Systole's
// policy engine would run for a CIB, with Pacemaker's flags and output.
package main

import (
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"time"
)

func main() {
	if p := os.Getenv("PENGINE_CPUPROFILE"); p != "" {
		f, err := os.Create(p)
		if err == nil {
			_ = pprof.StartCPUProfile(f)
			defer pprof.StopCPUProfile()
		}
	}
	if p := os.Getenv("PENGINE_MEMPROFILE"); p != "" {
		defer func() {
			runtime.GC()
			if f, err := os.Create(p); err == nil {
				_ = pprof.WriteHeapProfile(f)
				f.Close()
			}
		}()
	}
	if os.Getenv("PENGINE_MEMSTATS") != "" {
		defer func() {
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			fmt.Fprintf(os.Stderr, "total-alloc %d MiB heap-sys %d MiB heap-inuse %d MiB gc %d\n", m.TotalAlloc>>20, m.HeapSys>>20, m.HeapInuse>>20, m.NumGC)
		}()
	}
	cmd := NewRootCommand()
	if err := cmd.Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "crm_simulate:", err)
		pprof.StopCPUProfile()
		os.Exit(1)
	}
}

// clock is the wall clock, injected so tests can fix it.
var clock = time.Now
