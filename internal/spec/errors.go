package spec

import (
	"fmt"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// InvalidError is bad input: gRPC InvalidArgument. Field names the CRI
// field (e.g. "linux.security_context.capabilities.add_capabilities[0]").
type InvalidError struct {
	Field string
	Msg   string
	Err   error
}

func (e *InvalidError) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("invalid %s: %s: %v", e.Field, e.Msg, e.Err)
	}
	return fmt.Sprintf("invalid %s: %s", e.Field, e.Msg)
}

func (e *InvalidError) Unwrap() error { return e.Err }

// GRPCStatus lets status.FromError map the error to InvalidArgument.
func (e *InvalidError) GRPCStatus() *status.Status {
	return status.New(codes.InvalidArgument, e.Error())
}

// FailedPreconditionError is a request this host cannot honour: gRPC
// FailedPrecondition.
type FailedPreconditionError struct {
	Field string
	Msg   string
	Err   error
}

func (e *FailedPreconditionError) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Field, e.Msg, e.Err)
	}
	return fmt.Sprintf("%s: %s", e.Field, e.Msg)
}

func (e *FailedPreconditionError) Unwrap() error { return e.Err }

// GRPCStatus lets status.FromError map the error to FailedPrecondition.
func (e *FailedPreconditionError) GRPCStatus() *status.Status {
	return status.New(codes.FailedPrecondition, e.Error())
}

func invalid(field, format string, args ...any) error {
	return &InvalidError{Field: field, Msg: fmt.Sprintf(format, args...)}
}

func precondition(field, format string, args ...any) error {
	return &FailedPreconditionError{Field: field, Msg: fmt.Sprintf(format, args...)}
}
