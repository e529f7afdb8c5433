// Package image is the CRI ImageService backend: it pulls images from
// registries with containers/image into a containers/storage store and
// answers list, status, remove and filesystem-usage queries from that store.
package image

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/containers/image/v5/types"
	"github.com/containers/storage"

	"github.com/crio-runtime/crio/internal/untar"
)

// DefaultPullProgressTimeout is the pull_progress_timeout CRI-O uses; the
// config layer passes it in (Options.PullProgressTimeout 0 disables it).
const DefaultPullProgressTimeout = time.Minute

// Options configures a Service.
type Options struct {
	// Root and RunRoot are the containers/storage graph root and run root.
	Root, RunRoot string
	// ImageStore, when set, holds the images and their layers apart from
	// Root (CRI-O's imagestore); containers stay under Root.
	ImageStore string
	// Driver is the storage driver: "overlay" (default) or "vfs".
	Driver        string
	DriverOptions []string
	// RegistriesConf and RegistriesConfDir override
	// /etc/containers/registries.conf and registries.conf.d.
	RegistriesConf    string
	RegistriesConfDir string
	// SignaturePolicy is the policy.json path ("" = system default; when
	// that file does not exist either, every image is accepted).
	SignaturePolicy string
	// GlobalAuthFile is an auth.json used when a pull carries no AuthConfig.
	GlobalAuthFile string
	// CertDir overrides /etc/containers/certs.d: a directory holding
	// <host[:port]>/ca.crt (and client certs) per registry.
	CertDir string
	// PinnedImages are names or globs ("prefix*", "*keyword*") of images
	// reported as pinned.
	PinnedImages []string
	// PullProgressTimeout cancels a pull that moved no bytes for this long;
	// 0 (or negative) disables the watchdog.
	PullProgressTimeout time.Duration
	// ShortNameMode is "enforcing" (default: ambiguous short names fail) or
	// "disabled" (try every unqualified-search registry in order).
	ShortNameMode string
	// InsecureRegistries are registries (host, host:port or CIDR) reached
	// without TLS verification, in addition to registries.conf.
	InsecureRegistries []string
	// Logger defaults to slog.Default().
	Logger *slog.Logger
}

// Users are what Remove asks before deleting an image: the containers made
// from images. They are passed to each Remove, not to New, because the
// container manager is built on this store.
type Users interface {
	// ImageInUse reports whether any container uses imageID, and its name.
	ImageInUse(imageID string) (containerName string, inUse bool)
	// ReleaseImage drops what was made from imageID ahead of use (spare
	// layers), once no container uses it.
	ReleaseImage(imageID string)
}

// Service is the image store plus pull logic. It is safe for concurrent use.
type Service struct {
	opts  Options
	store storage.Store
	log   *slog.Logger
	tmp   string // big files, private to this store
	// noBlobCache is a regular file named as the blob-info cache directory:
	// see systemContext.
	noBlobCache string

	inUseMu  sync.RWMutex // guards progress
	progress PullProgress // told about the blobs of every pull (metrics)

	pulls pullGroup    // in-flight pulls, shared by identical requests
	gc    layerJanitor // removes layers left by failed pulls

	noFastPull bool // tests: every pull takes copy.Image (see fastPull)
	staging    bool // the driver unpacks into staging dirs (tests may turn it off)

	// stageMu makes our check for a layer and the commit of a staged copy
	// one step: storage's ApplyStagedLayer would unpack over a layer that
	// exists (see stage.commit).
	stageMu sync.Mutex

	infoMu sync.Mutex
	info   map[string]*imageInfo // infoKey -> immutable facts

	fs fsCache

	reaps   imageReaps   // removed images still being deleted
	reserve spaceReserve // room for deletions on a full disk
	views   viewCache    // status/list answers until the image store changes
}

// New opens (creating if needed) the containers/storage store.
func New(opts Options) (*Service, error) {
	if opts.Root == "" || opts.RunRoot == "" {
		return nil, fmt.Errorf("image store: root and runroot must be set")
	}
	if opts.Driver == "" {
		opts.Driver = "overlay"
	}
	if is := opts.ImageStore; is != "" && (!filepath.IsAbs(is) || filepath.Clean(is) == filepath.Clean(opts.Root)) {
		return nil, fmt.Errorf("image store: imagestore %q must be an absolute path other than root", is)
	}
	switch opts.ShortNameMode {
	case "", "enforcing", "disabled", "permissive":
	default:
		return nil, fmt.Errorf("image store: unknown short name mode %q", opts.ShortNameMode)
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	bridgeLogrus()
	untar.Install() // overlay unpacks layers in-process, not by re-exec
	store, err := storage.GetStore(storage.StoreOptions{
		RunRoot:            opts.RunRoot,
		GraphRoot:          opts.Root,
		ImageStore:         opts.ImageStore,
		GraphDriverName:    opts.Driver,
		GraphDriverOptions: opts.DriverOptions,
	})
	if err != nil {
		return nil, fmt.Errorf("open storage at %s (%s driver): %w", opts.Root, opts.Driver, err)
	}
	tmp := filepath.Join(opts.Root, "crio-image-tmp")
	if err := os.MkdirAll(tmp, 0o700); err != nil {
		_, _ = store.Shutdown(false)
		return nil, fmt.Errorf("create image temp dir: %w", err)
	}
	noBlobCache, err := memoryOnlyBlobCache(tmp)
	if err != nil {
		_, _ = store.Shutdown(false)
		return nil, err
	}
	s := &Service{
		opts:        opts,
		store:       store,
		log:         opts.Logger,
		tmp:         tmp,
		noBlobCache: noBlobCache,
		info:        map[string]*imageInfo{},
		staging:     canStage(store),
	}
	if err := s.reaps.init(filepath.Join(tmp, "removing")); err != nil {
		_, _ = store.Shutdown(false)
		return nil, fmt.Errorf("create image reap dir: %w", err)
	}
	pruneStaging(store)
	s.reserve.path = reservePath(opts.Root)
	s.reserve.ensure()
	s.sweepReaps()
	s.initViews()
	s.pulls.init()
	s.gc.store = store
	s.gc.log = opts.Logger
	s.fs.layers = map[string]usage{}
	return s, nil
}

// Store returns the underlying containers/storage store.
func (s *Service) Store() storage.Store { return s.store }

// SetProgress sets what is told about the blobs of every pull.
func (s *Service) SetProgress(p PullProgress) {
	s.inUseMu.Lock()
	s.progress = p
	s.inUseMu.Unlock()
}

// Shutdown releases the store without unmounting layers in use by running
// containers.
func (s *Service) Shutdown() error {
	s.waitReapsDone() // removed images finish deleting
	s.reaps.wg.Wait()
	s.views.mu.Lock()
	s.views.closeLocks()
	s.views.mu.Unlock()
	s.closeFsLocks()
	// Mounted layers of running containers are expected: they stay mounted
	// for the containers, which outlive the daemon. On a full disk the
	// store's last record write needs the reserve.
	_, err := s.reserve.around(func() error {
		_, err := s.store.Shutdown(false)
		return err
	})
	if err != nil && !errors.Is(err, storage.ErrLayerUsedByContainer) {
		return fmt.Errorf("shut down image store: %w", err)
	}
	return nil
}

// systemContext is the containers/image configuration shared by pulls and
// local name resolution.
func (s *Service) systemContext() *types.SystemContext {
	sys := &types.SystemContext{
		SystemRegistriesConfPath:    s.opts.RegistriesConf,
		SystemRegistriesConfDirPath: s.opts.RegistriesConfDir,
		SignaturePolicyPath:         s.opts.SignaturePolicy,
		AuthFilePath:                s.opts.GlobalAuthFile,
		DockerPerHostCertDirPath:    s.opts.CertDir,
		BigFilesTemporaryDir:        s.tmp,
		BlobInfoCacheDir:            s.noBlobCache,
		DockerRegistryUserAgent:     "crio",
	}
	switch s.opts.ShortNameMode {
	case "disabled":
		m := types.ShortNameModeDisabled
		sys.ShortNameMode = &m
	case "permissive":
		m := types.ShortNameModePermissive
		sys.ShortNameMode = &m
	default:
		m := types.ShortNameModeEnforcing
		sys.ShortNameMode = &m
	}
	return sys
}

func (s *Service) progressTimeout() time.Duration {
	if s.opts.PullProgressTimeout < 0 {
		return 0
	}
	return s.opts.PullProgressTimeout
}

// memoryOnlyBlobCache returns a path for SystemContext.BlobInfoCacheDir that
// makes every copy.Image use a memory-only blob-info cache.
//
// containers/image opens its SQLite cache per copy.Image and commits (with
// fsync) several times per pull: 16-20 ms of a small pull here. copy.Options
// takes no cache object, but blobinfocache.DefaultCache falls back to a
// memory cache when the directory cannot be created, so the path is a
// regular file. What is lost: hints across pulls that the store does not
// keep itself. Blobs already stored are still reused (the storage
// destination finds layers by compressed and uncompressed digest in the
// store); a blob of the same content in another compression, or a
// zstd:chunked TOC seen in an earlier pull, is downloaded again.
func memoryOnlyBlobCache(tmp string) (string, error) {
	p := filepath.Join(tmp, "blob-info-cache.memory-only")
	if err := os.WriteFile(p, nil, 0o600); err != nil {
		return "", fmt.Errorf("create blob-info cache marker: %w", err)
	}
	// The SQLite file earlier versions kept is no longer read.
	_ = os.Remove(filepath.Join(tmp, "blob-info-cache-v1.sqlite"))
	return p, nil
}
