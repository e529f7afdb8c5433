package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"
	"google.golang.org/grpc"

	"github.com/crio-runtime/crio/internal/logging"
	"github.com/crio-runtime/crio/internal/sdnotify"
	"github.com/crio-runtime/crio/internal/sockmux"
	"github.com/crio-runtime/crio/internal/version"
	"github.com/crio-runtime/crio/pkg/config"
	"github.com/crio-runtime/crio/server"
)

// shutdownGrace is how long in-flight requests get to finish on SIGTERM.
const shutdownGrace = 10 * time.Second

// firstBytesTimeout: a connection to the CRI socket that says nothing (is
// neither gRPC nor HTTP) for this long is closed.
const firstBytesTimeout = 30 * time.Second

// runDaemon is the daemon: set up logging, start the server and the CRI
// socket, serve until a signal ends it, and shut down in order.
func runDaemon(c *cli.Context) error {
	if c.Args().Present() {
		return fmt.Errorf("unknown command %q (see crio --help)", c.Args().First())
	}
	d := &daemon{c: c}
	defer d.close()
	if err := d.setUpLogging(); err != nil {
		return err
	}
	// Catch signals before the socket exists: a SIGHUP that arrives while
	// the server starts must queue, not kill the daemon (its default action).
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP, syscall.SIGUSR1)
	if err := d.startServer(); err != nil {
		return err
	}
	if err := d.startProfiling(); err != nil {
		_ = d.srv.Shutdown()
		return err
	}
	d.serve()
	return d.loop(sigs)
}

// daemon is a running crio: what runDaemon's steps set up.
type daemon struct {
	c        *cli.Context
	cfg      *config.Config
	log      *slog.Logger
	logs     *logging.Setup
	srv      *server.Server
	g        *grpc.Server
	lis      net.Listener // gRPC's side of the CRI socket
	httpLis  net.Listener // HTTP/1's side: CRI-O's inspect API
	serveErr chan error
	closers  []func() // run in reverse when runDaemon returns
}

func (d *daemon) close() {
	for i := len(d.closers) - 1; i >= 0; i-- {
		d.closers[i]()
	}
}

// setUpLogging loads the config, opens the log and logs the start checks.
func (d *daemon) setUpLogging() error {
	c := d.c
	cfg, ignored, err := loadConfig(c)
	if err != nil {
		return err
	}
	out, closeLog, err := logOutput(c.String("log"))
	if err != nil {
		return err
	}
	d.closers = append(d.closers, closeLog)
	log, logs, err := logging.New(out, c.String("log-format"), cfg.Crio.Runtime.LogLevel, cfg.Crio.Runtime.LogFilter)
	if err != nil {
		return err
	}
	slog.SetDefault(log)
	if os.Geteuid() != 0 {
		return fmt.Errorf("crio must run as root")
	}
	warnIgnored(log, ignored)
	logCompatibility(c, cfg, log)
	logStartChecks(cfg, log)
	d.cfg, d.log, d.logs = cfg, log, logs
	return nil
}

// startServer restores the state, marks the start and opens the CRI
// socket with the gRPC server and its interceptors.
func (d *daemon) startServer() error {
	cfg, log := d.cfg, d.log
	if err := refuseServed(cfg.Crio.API.Listen); err != nil {
		return err
	}
	srv, err := server.New(context.Background(), cfg, log, d.logs)
	if err != nil {
		return err
	}
	files, _ := config.Files(d.c.String("config"), d.c.String("config-dir")) // the ones loadConfig read
	logStartup(log, srv.Config(), files, srv.StorageDriver())
	if err := markStarted(cfg); err != nil {
		_ = srv.Shutdown()
		return err
	}
	lis, err := listen(cfg.Crio.API.Listen)
	if err != nil {
		_ = srv.Shutdown()
		return err
	}
	unary, stream := server.Interceptors(log)
	mUnary, mStream := srv.ObservabilityInterceptors()
	dUnary, dStream := srv.DrainInterceptors()
	d.g = grpc.NewServer(append(server.TransportOptions(),
		grpc.ChainUnaryInterceptor(unary, mUnary, dUnary), grpc.ChainStreamInterceptor(stream, mStream, dStream),
		grpc.MaxRecvMsgSize(cfg.Crio.API.GRPCMaxRecvMsgSize), grpc.MaxSendMsgSize(cfg.Crio.API.GRPCMaxSendMsgSize),
	)...)
	srv.Register(d.g)
	d.srv = srv
	d.lis, d.httpLis = sockmux.Split(lis, firstBytesTimeout)
	return nil
}

// startProfiling serves the profiles the flags ask for.
func (d *daemon) startProfiling() error {
	stopProfiling, err := startProfiling(d.c, d.log)
	if err != nil {
		return err
	}
	d.closers = append(d.closers, stopProfiling)
	if d.c.Bool(config.ProfileSocketFlag.Name) {
		stop, err := serveProfile(profileSocket(d.cfg.Crio.API.Listen), d.log)
		if err != nil {
			return fmt.Errorf("profile socket: %w", err)
		}
		d.closers = append(d.closers, stop)
	}
	return nil
}

// serve starts answering on the socket and tells systemd the daemon is
// ready.
func (d *daemon) serve() {
	d.serveErr = make(chan error, 1)
	go func() { d.serveErr <- d.g.Serve(d.lis) }()
	inspect := &http.Server{Handler: d.srv.InspectHandler(), ReadHeaderTimeout: firstBytesTimeout}
	go func() { _ = inspect.Serve(d.httpLis) }()
	d.closers = append(d.closers, func() { _ = inspect.Close() })
	endpoint := "unix://" + d.cfg.Crio.API.Listen
	d.log.Info("crio is serving the CRI", "version", version.Version, "socket", endpoint)
	fmt.Fprintf(os.Stderr, "crio listening on %s; point crictl at it with: crictl --runtime-endpoint %s info\n", endpoint, endpoint)
	_ = sdnotify.Notify("READY=1")
	stopWatchdog := make(chan struct{})
	d.closers = append(d.closers, func() { close(stopWatchdog) })
	startWatchdog(stopWatchdog, d.log)
}

// loop handles signals until the daemon ends: SIGHUP reloads, SIGUSR1
// dumps the stacks, SIGTERM and SIGINT shut down.
func (d *daemon) loop(sigs <-chan os.Signal) error {
	for {
		select {
		case err := <-d.serveErr:
			_ = d.srv.Shutdown()
			return fmt.Errorf("serve: %w", err)
		case sig := <-sigs:
			switch sig {
			case syscall.SIGHUP:
				_ = sdnotify.Notify("RELOADING=1")
				reload(d.c, d.srv, d.log)
				_ = sdnotify.Notify("READY=1")
			case syscall.SIGUSR1:
				dumpStacks(d.log)
			default:
				d.log.Info("shutting down", "signal", sig.String())
				return d.shutdown()
			}
		}
	}
}

// shutdown stops in order: no new requests (in-flight ones get a grace),
// then the server's own shutdown (see server.Shutdown), the clean-shutdown
// mark, and the socket.
func (d *daemon) shutdown() error {
	_ = sdnotify.Notify("STOPPING=1")
	d.srv.Drain()
	stopGracefully(d.g, d.log)
	err := d.srv.Shutdown()
	if err == nil {
		err = markCleanShutdown(d.cfg)
	}
	_ = os.Remove(d.cfg.Crio.API.Listen)
	d.log.Info("stopped")
	return err
}

// logOutput is stderr, plus the --log file (CRI-O's flag) when given.
func logOutput(path string) (io.Writer, func(), error) {
	if path == "" {
		return os.Stderr, func() {}, nil
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, nil, fmt.Errorf("log file: %w", err)
	}
	return io.MultiWriter(os.Stderr, f), func() { _ = f.Close() }, nil
}

// reload re-reads the files with the same flags and applies what may change
// at run time; a broken file keeps the running config.
func reload(c *cli.Context, srv *server.Server, log *slog.Logger) {
	next, ignored, err := loadConfig(c)
	if err != nil {
		log.Error("reload failed; keeping the running config", "error", err)
		return
	}
	warnIgnored(log, ignored)
	if changes := srv.Reload(next); len(changes) == 0 {
		log.Info("config reloaded; nothing changed")
	}
	warnRestartOnly(srv.Config(), next, log)
}

// warnRestartOnly names the changed options that only a restart applies.
func warnRestartOnly(running, next *config.Config, log *slog.Logger) {
	for _, o := range config.Options() {
		if o.Reload {
			continue
		}
		if fmt.Sprint(o.Value(running).Interface()) != fmt.Sprint(o.Value(next).Interface()) {
			log.Warn("config change needs a restart", "key", o.Path())
		}
	}
}

func stopGracefully(g *grpc.Server, log *slog.Logger) {
	done := make(chan struct{})
	go func() { g.GracefulStop(); close(done) }()
	select {
	case <-done:
	case <-time.After(shutdownGrace):
		log.Warn("requests still running after the shutdown grace; closing them", "grace", shutdownGrace)
		g.Stop()
	}
}

func dumpStacks(log *slog.Logger) {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	log.Info("goroutine dump (SIGUSR1)", "stacks", string(buf))
}
