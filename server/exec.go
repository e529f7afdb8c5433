package server

import (
	"context"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// Exec returns a single-use streaming URL that runs the command in a
// running container.
func (s *Server) Exec(ctx context.Context, req *runtimeapi.ExecRequest) (*runtimeapi.ExecResponse, error) {
	if req.ContainerId == "" {
		return nil, status.Error(codes.InvalidArgument, "container_id is required")
	}
	if len(req.Cmd) == 0 || req.Cmd[0] == "" {
		return nil, status.Error(codes.InvalidArgument, "cmd is required")
	}
	if err := checkStreamFlags(req.Stdin, req.Stdout, req.Stderr, req.Tty); err != nil {
		return nil, err
	}
	st := s.stream()
	if st == nil {
		return nil, streamingUnavailable()
	}
	if err := checkRunning(st, req.ContainerId); err != nil {
		return nil, err
	}
	return st.GetExec(req)
}

// checkStreamFlags applies api.proto's rules for exec and attach streams.
func checkStreamFlags(stdin, stdout, stderr, tty bool) error {
	if !stdin && !stdout && !stderr {
		return status.Error(codes.InvalidArgument, "one of stdin, stdout or stderr must be set")
	}
	if tty && stderr {
		// A tty merges stderr into stdout.
		return status.Error(codes.InvalidArgument, "tty and stderr cannot both be set")
	}
	return nil
}
