package image

import (
	"context"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"sync"

	"github.com/containers/image/v5/docker/reference"
	"github.com/containers/image/v5/pkg/sysregistriesv2"
	"github.com/containers/image/v5/types"
	"github.com/sirupsen/logrus"
)

// containers/image logs through the global logrus logger. bridgeLogrus
// sends those lines to slog instead of a second, differently formatted
// stream on stderr; with DockerLogMirrorChoice set, that includes the
// source (mirror or rewritten location) each pull actually tries, which is
// logged with the pulling request's logger (and so its request id).
var bridgeOnce sync.Once

func bridgeLogrus() {
	bridgeOnce.Do(func() {
		logrus.SetOutput(io.Discard)
		logrus.SetFormatter(discardFormatter{})
		logrus.SetLevel(logrus.InfoLevel)
		logrus.AddHook(logrusHook{})
	})
}

type discardFormatter struct{}

func (discardFormatter) Format(*logrus.Entry) ([]byte, error) { return nil, nil }

type logrusHook struct{}

func (logrusHook) Levels() []logrus.Level { return logrus.AllLevels }

const tryingPrefix = "Trying to access "

func (logrusHook) Fire(e *logrus.Entry) error {
	if rest, ok := strings.CutPrefix(e.Message, tryingPrefix); ok {
		ref, err := strconv.Unquote(rest)
		if err != nil {
			ref = rest
		}
		for _, l := range sourceLoggers(ref) {
			l.Info("Trying to access", "reference", ref, "registry", reference.Domain(mustNamed(ref)))
		}
		return nil
	}
	level := slog.LevelInfo
	switch {
	case e.Level <= logrus.ErrorLevel:
		level = slog.LevelError
	case e.Level == logrus.WarnLevel:
		level = slog.LevelWarn
	case e.Level >= logrus.DebugLevel:
		level = slog.LevelDebug
	}
	slog.Default().Log(context.Background(), level, e.Message, "component", "containers")
	return nil
}

func mustNamed(s string) reference.Named {
	n, err := reference.ParseNormalizedNamed(s)
	if err != nil {
		n, _ = reference.ParseNormalizedNamed("invalid.invalid/x")
	}
	return n
}

// sources maps each source a pull in flight may try ("mirror:5000/lib/x:1")
// to the loggers of the pulls that may try it.
var sources = struct {
	sync.Mutex
	m map[string][]*slog.Logger
}{m: map[string][]*slog.Logger{}}

func sourceLoggers(ref string) []*slog.Logger {
	sources.Lock()
	defer sources.Unlock()
	if ls := sources.m[ref]; len(ls) > 0 {
		return ls[:1] // one line per attempt, even when two pulls share a source
	}
	return []*slog.Logger{slog.Default()}
}

// watchSources registers the sources named may be pulled from after
// registries.conf mirrors and rewrites, so the attempt is logged with log;
// the returned func unregisters them.
func watchSources(sys *types.SystemContext, named reference.Named, log *slog.Logger) func() {
	refs := []string{named.String()}
	if reg, err := sysregistriesv2.FindRegistry(sys, named.Name()); err == nil && reg != nil {
		if ps, err := reg.PullSourcesFromReference(named); err == nil {
			refs = refs[:0]
			for _, p := range ps {
				refs = append(refs, p.Reference.String())
			}
		}
	}
	sources.Lock()
	for _, r := range refs {
		sources.m[r] = append(sources.m[r], log)
	}
	sources.Unlock()
	return func() {
		sources.Lock()
		defer sources.Unlock()
		for _, r := range refs {
			ls := sources.m[r]
			for i, l := range ls {
				if l == log {
					ls = append(ls[:i], ls[i+1:]...)
					break
				}
			}
			if len(ls) == 0 {
				delete(sources.m, r)
			} else {
				sources.m[r] = ls
			}
		}
	}
}

// logMirrorChoice is sys with containers/image's "Trying to access" line
// at info level (as CRI-O sets it).
func logMirrorChoice(sys *types.SystemContext) *types.SystemContext {
	c := *sys
	c.DockerLogMirrorChoice = true
	return &c
}

// PullProgress is told about each blob of a pull: bytes read since the
// last event (done at the blob's end), or that the store already had it.
type PullProgress interface {
	PullBytes(mediaType string, blobSize int64, bytes uint64, done bool)
	PullSkipped(name string, blobSize int64)
}

// progressHook feeds Options.Progress from copy's progress events.
func (s *Service) progressHook(named reference.Named) func(types.ProgressProperties) {
	s.inUseMu.RLock()
	pp := s.progress
	s.inUseMu.RUnlock()
	if pp == nil {
		return nil
	}
	return func(p types.ProgressProperties) {
		switch p.Event {
		case types.ProgressEventSkipped:
			pp.PullSkipped(named.String()+"@"+p.Artifact.Digest.String(), p.Artifact.Size)
		case types.ProgressEventRead:
			pp.PullBytes(p.Artifact.MediaType, p.Artifact.Size, p.OffsetUpdate, false)
		case types.ProgressEventDone:
			pp.PullBytes(p.Artifact.MediaType, p.Artifact.Size, p.OffsetUpdate, true)
		}
	}
}
