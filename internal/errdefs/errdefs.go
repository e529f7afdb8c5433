// Package errdefs holds the kinds of failure domain packages report. Only
// server maps a kind to a gRPC code (server.toStatus), so the code an RPC
// answers is decided in one place.
package errdefs

import (
	"errors"
	"fmt"
	"strings"
	"syscall"
)

// OutOfSpace says err comes from a full file system or an exhausted quota.
func OutOfSpace(err error) bool {
	return errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT)
}

// The kinds. Test with errors.Is; make with the constructors below.
var (
	ErrNotFound           = errors.New("not found")
	ErrAlreadyExists      = errors.New("already exists")
	ErrInvalidArgument    = errors.New("invalid argument")
	ErrFailedPrecondition = errors.New("failed precondition")
	ErrUnimplemented      = errors.New("unimplemented")
	ErrResourceExhausted  = errors.New("resource exhausted")
	ErrUnavailable        = errors.New("unavailable")
	ErrInternal           = errors.New("internal")
	ErrDeadlineExceeded   = errors.New("deadline exceeded")
	ErrCanceled           = errors.New("canceled")
	ErrPermissionDenied   = errors.New("permission denied")
	ErrUnauthenticated    = errors.New("unauthenticated")
	// ErrUnknown is a failure of the runtime or a library that fits no
	// other kind; it keeps a wrapped cause (say a missing file) from
	// deciding the kind.
	ErrUnknown = errors.New("unknown")
)

var kinds = []error{
	ErrNotFound, ErrAlreadyExists, ErrInvalidArgument, ErrFailedPrecondition, ErrUnimplemented,
	ErrResourceExhausted, ErrUnavailable, ErrInternal, ErrDeadlineExceeded, ErrCanceled,
	ErrPermissionDenied, ErrUnauthenticated, ErrUnknown,
}

// kindError carries a kind and, for invalid arguments, the request field.
type kindError struct {
	kind  error
	field string
	msg   string
	cause error
}

// Error is the message, led by the field unless the message names it first.
func (e *kindError) Error() string {
	if e.field != "" && !strings.HasPrefix(e.msg, e.field) {
		return e.field + ": " + e.msg
	}
	return e.msg
}

// Is reports the kind, so errors.Is(err, ErrNotFound) works through wrapping.
func (e *kindError) Is(target error) bool { return target == e.kind }

// Unwrap exposes the cause (a %w argument), so errors.Is also finds it.
func (e *kindError) Unwrap() error { return e.cause }

func newKind(kind error, field, format string, args []any) error {
	err := fmt.Errorf(format, args...)
	return &kindError{kind: kind, field: field, msg: err.Error(), cause: errors.Unwrap(err)}
}

// NotFound reports that the named object does not exist.
func NotFound(format string, args ...any) error {
	return newKind(ErrNotFound, "", format, args)
}

// AlreadyExists reports a name or id already taken.
func AlreadyExists(format string, args ...any) error {
	return newKind(ErrAlreadyExists, "", format, args)
}

// Invalid reports a bad request value; field names it as the request spells
// it (e.g. "config.linux.resources.cpuset_cpus"), or is empty.
func Invalid(field, format string, args ...any) error {
	return newKind(ErrInvalidArgument, field, format, args)
}

// FailedPrecondition reports a request the object's state does not allow.
func FailedPrecondition(format string, args ...any) error {
	return newKind(ErrFailedPrecondition, "", format, args)
}

// Unimplemented reports a feature this runtime does not offer.
func Unimplemented(format string, args ...any) error {
	return newKind(ErrUnimplemented, "", format, args)
}

// Unavailable reports a transient failure worth a retry.
func Unavailable(format string, args ...any) error {
	return newKind(ErrUnavailable, "", format, args)
}

// New makes an error of the given kind (one of the Err* values), for code
// that decides the kind at run time (e.g. classifying a registry's answer).
func New(kind error, format string, args ...any) error {
	return newKind(kind, "", format, args)
}

// Kind returns the kind of the outermost error in err's chain that has
// one, or nil: an error made of one kind that wraps a cause of another
// (FailedPrecondition("...: %w", a NotFound)) is of the outer kind.
func Kind(err error) error {
	for _, k := range kinds {
		if err == k {
			return k
		}
	}
	if ke, ok := err.(*kindError); ok {
		return ke.kind
	}
	if x, ok := err.(interface{ Is(error) bool }); ok {
		for _, k := range kinds {
			if x.Is(k) {
				return k
			}
		}
	}
	switch u := err.(type) {
	case interface{ Unwrap() error }:
		if c := u.Unwrap(); c != nil {
			return Kind(c)
		}
	case interface{ Unwrap() []error }:
		for _, c := range u.Unwrap() {
			if k := Kind(c); k != nil {
				return k
			}
		}
	}
	return nil
}

// Wrapf prefixes err's message ("<format>: <err>") and keeps its kind;
// an error of no kind becomes ErrUnknown, as a bare error answers.
func Wrapf(err error, format string, args ...any) error {
	kind := Kind(err)
	if kind == nil {
		kind = ErrUnknown
	}
	return newKind(kind, "", format+": %w", append(args, err))
}
