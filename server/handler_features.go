package server

import "github.com/crio-runtime/crio/internal/oci"

// handlerFeatures is what the runtime of configured handler name can do
// (probed once per runtime binary); an unknown or missing runtime can do
// nothing.
func (s *Server) handlerFeatures(name string) oci.HandlerFeatures {
	cfg := s.Config()
	h := cfg.Crio.Runtime.Runtimes[name]
	if h == nil {
		return oci.HandlerFeatures{}
	}
	path, err := oci.RuntimePath(name, h)
	if err != nil {
		return oci.HandlerFeatures{}
	}
	return oci.Features(path)
}
