package image

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/containers/image/v5/image"
	"github.com/containers/image/v5/manifest"
	"github.com/containers/image/v5/signature"
	"github.com/containers/image/v5/transports"
	"github.com/containers/image/v5/types"
	digest "github.com/opencontainers/go-digest"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// The direct pull path. copy.Image into the storage destination reads each
// layer four times (spool to a temp file while computing the DiffID, a
// second DiffID pass in copy, our tar scan, storage's apply) and keeps a
// SQLite blob-info cache. For the common image (schema2 or OCI, gzip or
// plain tar layers, no signatures to store) this path reads each blob once
// from the registry, scans, digests and spools it in one pass, and hands
// the spooled blob to store.PutLayer with the verified digests, exactly as
// the storage destination does; the image record is written the same way.
// Anything unusual goes to copy.Image, before anything is written.

// errNotFast says the image needs copy.Image; nothing was written.
var errNotFast = errors.New("image needs the general copy path")

// pullPaths counts pulls by path (tests assert which path ran).
var pullPaths struct{ fast, general atomic.Int64 }

// Layer media types the direct path applies; zstd (possibly chunked, which
// copy.Image may pull partially), encrypted and foreign layers are not.
var fastLayerTypes = []string{
	manifest.DockerV2Schema2LayerMediaType,
	imgspecv1.MediaTypeImageLayerGzip,
	imgspecv1.MediaTypeImageLayer,
}

// Annotations that make copy.Image identify a layer by its TOC.
var tocAnnotations = []string{
	"containerd.io/snapshot/stargz/toc.digest",
	"io.github.containers.zstd-chunked.manifest-checksum",
	"io.github.containers.zstd-chunked.manifest-position",
}

// fastImage is what the direct path learned about the image before
// writing anything.
type fastImage struct {
	topManifest  []byte
	manifest     []byte
	manifestMT   string
	layers       []types.BlobInfo
	diffIDs      []digest.Digest
	configInfo   types.BlobInfo
	config       []byte
	created      *types.ImageInspectInfo
	instanceDesc *digest.Digest // chosen instance of a manifest list, else nil
}

// fastPull pulls srcRef into destRef without copy.Image, or returns an
// error wrapping errNotFast when the image needs it (nothing written then).
func (s *Service) fastPull(ctx context.Context, sys *types.SystemContext, srcRef, destRef types.ImageReference,
	policyCtx *signature.PolicyContext, facts *pullFacts, events *progressSink) (string, error) {
	if s.noFastPull {
		return "", fmt.Errorf("%w: disabled", errNotFast)
	}
	src, err := srcRef.NewImageSource(ctx, sys)
	if err != nil {
		return "", fmt.Errorf("initializing source %s: %w", transports.ImageName(srcRef), err)
	}
	defer src.Close()
	fi, err := s.inspectForFastPull(ctx, sys, src, policyCtx)
	if err != nil {
		return "", err
	}
	events.whole(fi.configInfo, len(fi.config))
	p := &fastPuller{s: s, src: src, img: fi, facts: facts, events: events}
	top, err := p.layersInto(ctx)
	if err != nil {
		return "", err
	}
	return p.commit(destRef, top)
}

// inspectForFastPull reads the manifest(s) and config, chooses the
// platform instance, evaluates the signature policy and decides whether
// the direct path can take the image.
func (s *Service) inspectForFastPull(ctx context.Context, sys *types.SystemContext, src types.ImageSource,
	policyCtx *signature.PolicyContext) (*fastImage, error) {
	fi := &fastImage{}
	top := image.UnparsedInstance(src, nil)
	mb, mt, err := top.Manifest(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading manifest: %w", err)
	}
	fi.topManifest = mb
	inst := top
	if manifest.MIMETypeIsMultiImage(mt) {
		list, err := manifest.ListFromBlob(mb, mt)
		if err != nil {
			return nil, fmt.Errorf("parsing manifest list: %w", err)
		}
		d, err := list.ChooseInstance(sys) // = copy.Image's choice (no gzip preference)
		if err != nil {
			return nil, fmt.Errorf("choosing an image from manifest list: %w", err)
		}
		fi.instanceDesc = &d
		inst = image.UnparsedInstance(src, &d)
		if mb, mt, err = inst.Manifest(ctx); err != nil {
			return nil, fmt.Errorf("reading manifest %s: %w", d, err)
		}
	}
	fi.manifest, fi.manifestMT = mb, mt
	if mt != manifest.DockerV2Schema2MediaType && mt != imgspecv1.MediaTypeImageManifest {
		return nil, fmt.Errorf("%w: manifest type %q", errNotFast, mt)
	}
	// As copy.Image: the policy decides before anything else is read.
	if allowed, err := policyCtx.IsRunningImageAllowed(ctx, inst); !allowed || err != nil {
		return nil, fmt.Errorf("Source image rejected: %w", err) // copy.Image's wording (and error class)
	}
	if sigs, err := src.GetSignatures(ctx, fi.instanceDesc); err != nil || len(sigs) > 0 {
		return nil, fmt.Errorf("%w: signatures to store (%d) or unreadable (%v)", errNotFast, len(sigs), err)
	}
	if err := fi.checkLayers(); err != nil {
		return nil, err
	}
	img, err := image.FromUnparsedImage(ctx, sys, inst)
	if err != nil {
		return nil, fmt.Errorf("initializing image: %w", err)
	}
	return fi, fi.readConfig(ctx, img)
}

// checkLayers accepts only layers the direct path handles like copy.Image.
func (fi *fastImage) checkLayers() error {
	m, err := manifest.FromBlob(fi.manifest, fi.manifestMT)
	if err != nil {
		return fmt.Errorf("parsing manifest: %w", err)
	}
	fi.configInfo = m.ConfigInfo()
	if ct := fi.configInfo.MediaType; ct != manifest.DockerV2Schema2ConfigMediaType && ct != imgspecv1.MediaTypeImageConfig {
		return fmt.Errorf("%w: config media type %q", errNotFast, ct)
	}
	for _, l := range m.LayerInfos() {
		if !slices.Contains(fastLayerTypes, l.MediaType) || len(l.URLs) > 0 || l.EmptyLayer || l.Size < 0 {
			return fmt.Errorf("%w: layer %s of type %q", errNotFast, l.Digest, l.MediaType)
		}
		for k := range l.Annotations {
			if slices.Contains(tocAnnotations, k) || strings.Contains(k, "encryption") {
				return fmt.Errorf("%w: layer %s annotated %q", errNotFast, l.Digest, k)
			}
		}
		if l.Digest.Validate() != nil || l.Digest.Algorithm() != digest.Canonical {
			return fmt.Errorf("%w: layer digest %q", errNotFast, l.Digest)
		}
		fi.layers = append(fi.layers, l.BlobInfo)
	}
	return nil
}

// readConfig fetches the (digest-verified) config and its DiffIDs.
func (fi *fastImage) readConfig(ctx context.Context, img types.Image) error {
	cfg, err := img.ConfigBlob(ctx)
	if err != nil {
		return fmt.Errorf("reading config blob %s: %w", fi.configInfo.Digest, err)
	}
	oci, err := img.OCIConfig(ctx)
	if err != nil {
		return fmt.Errorf("parsing config blob %s: %w", fi.configInfo.Digest, err)
	}
	// The storage destination refuses another OS (copy.Image's error).
	if oci.OS != "" && oci.OS != "linux" {
		return fmt.Errorf("%w: image OS %q", errNotFast, oci.OS)
	}
	if len(oci.RootFS.DiffIDs) != len(fi.layers) {
		return fmt.Errorf("%w: %d diff_ids for %d layers", errNotFast, len(oci.RootFS.DiffIDs), len(fi.layers))
	}
	for _, d := range oci.RootFS.DiffIDs {
		if d.Validate() != nil || d.Algorithm() != digest.Canonical {
			return fmt.Errorf("%w: diff_id %q", errNotFast, d)
		}
	}
	fi.diffIDs = oci.RootFS.DiffIDs
	fi.config = cfg
	if info, err := img.Inspect(ctx); err == nil {
		fi.created = info
	}
	return nil
}

// chainIDs are the storage layer IDs the storage destination gives these
// layers: the first DiffID's hex, then sha256(parentID + "+" + DiffID hex).
func chainIDs(diffIDs []digest.Digest) []string {
	ids := make([]string, len(diffIDs))
	parent := ""
	for i, d := range diffIDs {
		id := d.Encoded()
		if parent != "" {
			id = digest.Canonical.FromString(parent + "+" + id).Encoded()
		}
		ids[i], parent = id, id
	}
	return ids
}
