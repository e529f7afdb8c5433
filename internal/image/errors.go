package image

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"strings"
	"syscall"

	"github.com/containers/image/v5/docker"
	"github.com/containers/image/v5/signature"
	// containers/image v5 returns registry errors as docker/distribution's
	// errcode values (it still depends on that archived module), so
	// classifying them needs these types; distribution/reference has none.
	"github.com/docker/distribution/registry/api/errcode"
	v2 "github.com/docker/distribution/registry/api/v2"

	"github.com/crio-runtime/crio/internal/errdefs"
)

// layerRejectedError is a layer that failed our content checks.
type layerRejectedError struct {
	digest string
	err    error
}

func (e *layerRejectedError) Error() string {
	return fmt.Sprintf("layer %s rejected: %v", e.digest, e.err)
}

func (e *layerRejectedError) Unwrap() error { return e.err }

// errNoProgress is the cancellation cause of the progress watchdog.
var errNoProgress = errors.New("pull made no progress")

// pullError turns a containers/image error into a kinded error (errdefs)
// that names the image and, where it matters, the registry.
func pullError(ref, registry string, err error) error {
	if err == nil {
		return nil
	}
	if errdefs.Kind(err) != nil {
		return err
	}
	kind, msg := classify(registry, err)
	return errdefs.New(kind, "pull %s: %s", ref, msg)
}

// kindOf is err's kind; an error of none answers as ErrUnknown.
func kindOf(err error) error {
	if k := errdefs.Kind(err); k != nil {
		return k
	}
	return errdefs.ErrUnknown
}

// contextError is the kinded form of a context's error.
func contextError(err error) error {
	if errors.Is(err, context.DeadlineExceeded) {
		return errdefs.New(errdefs.ErrDeadlineExceeded, "%w", err)
	}
	return errdefs.New(errdefs.ErrCanceled, "%w", err)
}

func classify(registry string, err error) (error, string) {
	var (
		rejected *layerRejectedError
		unauth   docker.ErrUnauthorizedForCredentials
		polErr   signature.PolicyRequirementError
		x509U    x509.UnknownAuthorityError
		x509H    x509.HostnameError
		x509C    x509.CertificateInvalidError
		tlsVer   *tls.CertificateVerificationError
		tlsRec   tls.RecordHeaderError
		netOp    *net.OpError
		ecoder   errcode.ErrorCoder
		errcErr  errcode.Error
	)
	switch {
	case errors.As(err, &rejected):
		return errdefs.ErrInvalidArgument, rejected.Error()
	case errors.Is(err, errNoProgress):
		return errdefs.ErrDeadlineExceeded, err.Error()
	case errors.Is(err, context.DeadlineExceeded):
		return errdefs.ErrDeadlineExceeded, err.Error()
	case errors.Is(err, context.Canceled):
		return errdefs.ErrCanceled, err.Error()
	case strings.Contains(err.Error(), "is blocked in"):
		return errdefs.ErrPermissionDenied, err.Error()
	case errors.As(err, &polErr):
		return errdefs.ErrFailedPrecondition, "rejected by signature policy: " + err.Error()
	case errors.As(err, &unauth):
		return errdefs.ErrUnauthenticated, fmt.Sprintf("registry %s refused the credentials: %v", registry, err)
	case errors.As(err, &x509U), errors.As(err, &x509H), errors.As(err, &x509C), errors.As(err, &tlsVer):
		return errdefs.ErrUnavailable, fmt.Sprintf("TLS verification of registry %s failed (add its CA under the certs directory as %s/ca.crt, or mark it insecure): %v", registry, registry, err)
	case errors.As(err, &tlsRec), strings.Contains(err.Error(), "server gave HTTP response to HTTPS client"):
		return errdefs.ErrUnavailable, fmt.Sprintf("registry %s does not speak TLS (mark it insecure to use plain HTTP): %v", registry, err)
	case errors.As(err, &ecoder) && ecoder.ErrorCode() == errcode.ErrorCodeUnauthorized:
		return errdefs.ErrUnauthenticated, fmt.Sprintf("registry %s requires valid credentials (missing or rejected): %v", registry, err)
	case errors.As(err, &ecoder) && ecoder.ErrorCode() == errcode.ErrorCodeDenied:
		return errdefs.ErrPermissionDenied, fmt.Sprintf("registry %s denied access: %v", registry, err)
	case errors.As(err, &ecoder) && ecoder.ErrorCode() == v2.ErrorCodeManifestUnknown,
		errors.As(err, &errcErr) && errcErr.Code == v2.ErrorCodeNameUnknown:
		return errdefs.ErrNotFound, err.Error()
	case errors.Is(err, syscall.ECONNREFUSED), errors.As(err, &netOp):
		return errdefs.ErrUnavailable, fmt.Sprintf("registry %s unreachable: %v", registry, err)
	case strings.Contains(err.Error(), "ApplyLayer") && !strings.Contains(err.Error(), "no space left"):
		return errdefs.ErrInvalidArgument, "layer cannot be applied: " + err.Error()
	case isVerificationError(err):
		return errdefs.ErrInvalidArgument, err.Error()
	case strings.Contains(err.Error(), "manifest unknown"):
		return errdefs.ErrNotFound, err.Error()
	}
	return errdefs.ErrUnknown, err.Error()
}

// isVerificationError recognises content that failed verification in
// containers/image or containers/storage (their errors are untyped).
func isVerificationError(err error) bool {
	msg := err.Error()
	for _, s := range []string{
		"digest mismatch", "Digest did not match", "does not match digest", "does not match config's DiffID",
		"invalid tar header", "archive/tar", "unexpected EOF", "gzip: invalid header", "is outside of",
		"breakout", "does not match expected", "rejected as unsafe", "gzip: invalid checksum",
		"flate: corrupt input", "zstd: ", "invalid compressed data",
	} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

// PullFailureCategory names a pull error as CRI-O's image_pulls_failure_total
// does: the registry's error code (MANIFEST_UNKNOWN, DENIED, ...), else
// CONNECTION_REFUSED, CONNECTION_TIMEOUT or NOT_FOUND from the message,
// else UNKNOWN. It reads the message: the registry's typed error is
// flattened into it by then.
func PullFailureCategory(err error) string {
	if err == nil {
		return ""
	}
	msg := err.Error()
	for _, d := range errcode.GetErrorAllDescriptors() {
		if d.Message != "" && strings.Contains(msg, d.Message) {
			return d.Value
		}
	}
	switch {
	case strings.Contains(msg, "connection refused"):
		return "CONNECTION_REFUSED"
	case strings.Contains(msg, "connection timed out"), strings.Contains(msg, "i/o timeout"):
		return "CONNECTION_TIMEOUT"
	case strings.Contains(msg, "404 (Not Found)"), errdefs.Kind(err) == errdefs.ErrNotFound:
		return "NOT_FOUND"
	}
	return "UNKNOWN"
}
