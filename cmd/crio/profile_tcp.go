package main

import (
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"time"

	"github.com/urfave/cli/v2"
)

// startProfiling honours CRI-O's --profile (pprof on localhost:--profile-port),
// --profile-cpu (a CPU profile of the whole run) and --profile-mem (a heap
// profile at exit). The returned func ends them; it is never nil.
func startProfiling(c *cli.Context, log *slog.Logger) (func(), error) {
	var stops []func()
	stop := func() {
		for i := len(stops) - 1; i >= 0; i-- {
			stops[i]()
		}
	}
	if c.Bool("profile") {
		addr := net.JoinHostPort("localhost", strconv.FormatInt(c.Int64("profile-port"), 10))
		l, err := net.Listen("tcp", addr)
		if err != nil {
			return stop, fmt.Errorf("profile port: %w", err)
		}
		srv := &http.Server{Handler: pprofMux(), ReadHeaderTimeout: 10 * time.Second}
		go func() { _ = srv.Serve(l) }()
		log.Info("profiling served", "address", "http://"+l.Addr().String()+"/debug/pprof/")
		stops = append(stops, func() { _ = srv.Close() })
	}
	if path := c.String("profile-cpu"); path != "" {
		f, err := os.Create(path)
		if err != nil {
			stop()
			return func() {}, fmt.Errorf("profile cpu: %w", err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			f.Close()
			stop()
			return func() {}, fmt.Errorf("profile cpu: %w", err)
		}
		stops = append(stops, func() { pprof.StopCPUProfile(); f.Close() })
	}
	if path := c.String("profile-mem"); path != "" {
		stops = append(stops, func() {
			f, err := os.Create(path)
			if err != nil {
				log.Error("profile mem", "error", err)
				return
			}
			defer f.Close()
			runtime.GC()
			if err := pprof.WriteHeapProfile(f); err != nil {
				log.Error("profile mem", "error", err)
			}
		})
	}
	return stop, nil
}
