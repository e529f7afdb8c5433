package main

import (
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"path/filepath"
	"syscall"
)

// profileSocket is where --enable-profile-unix-socket serves pprof.
func profileSocket(criSocket string) string {
	return filepath.Join(filepath.Dir(criSocket), "crio-profile.sock")
}

// serveProfile serves Go's pprof handlers on a root-only (0600) socket, so
// goroutine and heap dumps never need a TCP port. It returns a stop func.
func serveProfile(path string, log *slog.Logger) (func(), error) {
	_ = os.Remove(path)
	old := syscall.Umask(0o177)
	l, err := net.Listen("unix", path)
	syscall.Umask(old)
	if err != nil {
		return nil, err
	}
	srv := &http.Server{Handler: pprofMux()}
	go func() { _ = srv.Serve(l) }()
	log.Info("profiling served on a root-only socket", "socket", path)
	return func() { _ = srv.Close(); _ = os.Remove(path) }, nil
}

// pprofMux serves Go's pprof handlers under /debug/pprof/.
func pprofMux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}
