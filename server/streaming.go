package server

import "context"

// initStreaming starts the streaming server (exec, attach, port-forward).
// Filled in by the streaming issue.
func (s *Server) initStreaming(ctx context.Context) error { return nil }

// shutdownStreaming stops the streaming server.
func (s *Server) shutdownStreaming() {}
