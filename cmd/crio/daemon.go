package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"
	"google.golang.org/grpc"

	"github.com/crio-runtime/crio/internal/logging"
	"github.com/crio-runtime/crio/internal/sdnotify"
	"github.com/crio-runtime/crio/internal/version"
	"github.com/crio-runtime/crio/pkg/config"
	"github.com/crio-runtime/crio/server"
)

// shutdownGrace is how long in-flight requests get to finish on SIGTERM.
const shutdownGrace = 10 * time.Second

func runDaemon(c *cli.Context) error {
	if c.Args().Present() {
		return fmt.Errorf("unknown command %q (see crio --help)", c.Args().First())
	}
	cfg, ignored, err := loadConfig(c)
	if err != nil {
		return err
	}
	out, closeLog, err := logOutput(c.String("log"))
	if err != nil {
		return err
	}
	defer closeLog()
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

	// Catch signals before the socket exists: a SIGHUP that arrives while
	// the server starts must queue, not kill the daemon (its default action).
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP, syscall.SIGUSR1)
	srv, err := server.New(context.Background(), cfg, log, logs)
	if err != nil {
		return err
	}
	files, _ := config.Files(c.String("config"), c.String("config-dir")) // the ones loadConfig read
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
	g := grpc.NewServer(
		grpc.ChainUnaryInterceptor(unary, mUnary), grpc.ChainStreamInterceptor(stream, mStream),
		grpc.MaxRecvMsgSize(cfg.Crio.API.GRPCMaxRecvMsgSize), grpc.MaxSendMsgSize(cfg.Crio.API.GRPCMaxSendMsgSize),
	)
	srv.Register(g)
	stopProfiling, err := startProfiling(c, log)
	if err != nil {
		_ = srv.Shutdown()
		return err
	}
	defer stopProfiling()
	if c.Bool(config.ProfileSocketFlag.Name) {
		stop, err := serveProfile(profileSocket(cfg.Crio.API.Listen), log)
		if err != nil {
			_ = srv.Shutdown()
			return fmt.Errorf("profile socket: %w", err)
		}
		defer stop()
	}

	serveErr := make(chan error, 1)
	go func() { serveErr <- g.Serve(lis) }()

	endpoint := "unix://" + cfg.Crio.API.Listen
	log.Info("crio is serving the CRI", "version", version.Version, "socket", endpoint)
	fmt.Fprintf(os.Stderr, "crio listening on %s; point crictl at it with: crictl --runtime-endpoint %s info\n", endpoint, endpoint)
	_ = sdnotify.Notify("READY=1")
	stopWatchdog := make(chan struct{})
	defer close(stopWatchdog)
	startWatchdog(stopWatchdog, log)

	for {
		select {
		case err := <-serveErr:
			_ = srv.Shutdown()
			return fmt.Errorf("serve: %w", err)
		case sig := <-sigs:
			switch sig {
			case syscall.SIGHUP:
				_ = sdnotify.Notify("RELOADING=1")
				reload(c, srv, log)
				_ = sdnotify.Notify("READY=1")
			case syscall.SIGUSR1:
				dumpStacks(log)
			default:
				log.Info("shutting down", "signal", sig.String())
				_ = sdnotify.Notify("STOPPING=1")
				stopGracefully(g)
				err := srv.Shutdown()
				if err == nil {
					err = markCleanShutdown(cfg)
				}
				_ = os.Remove(cfg.Crio.API.Listen)
				log.Info("stopped")
				return err
			}
		}
	}
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

func stopGracefully(g *grpc.Server) {
	done := make(chan struct{})
	go func() { g.GracefulStop(); close(done) }()
	select {
	case <-done:
	case <-time.After(shutdownGrace):
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
