package server

import (
	"context"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/crio-runtime/crio/internal/annotations"
	"github.com/crio-runtime/crio/internal/errdefs"
	"github.com/crio-runtime/crio/internal/logging"
	"github.com/crio-runtime/crio/internal/pending"
	"github.com/crio-runtime/crio/internal/sandbox"
)

// RunPodSandbox creates the pod's namespaces, files and network.
func (s *Server) RunPodSandbox(ctx context.Context, req *runtimeapi.RunPodSandboxRequest) (*runtimeapi.RunPodSandboxResponse, error) {
	handler, err := s.handlerName(req.RuntimeHandler)
	if err != nil {
		return nil, err
	}
	lx := req.GetConfig().GetLinux()
	ro, err := s.podAnnotations(req.GetConfig(), handler)
	if err != nil {
		return nil, err
	}
	ro.HandlerDefaulted = req.RuntimeHandler == ""
	ro.UserNamespaces = s.handlerFeatures(handler).UserNamespaces
	log := logging.From(ctx)
	md := req.GetConfig().GetMetadata()
	log.InfoContext(ctx, "Running pod sandbox", "name", md.GetName(), "namespace", md.GetNamespace(), "uid", md.GetUid(), "handler", handler)
	// The creation outlives a client that gives up: the kubelet's repeat
	// of the same request gets its pod (see internal/pending).
	cname := pending.PodName(md)
	defer s.nri.BlockSync()() // a plugin syncing now sees this pod or its events
	id, repeat, err := s.creations().Pods.Do(ctx, cname, pending.RequestDigest(req), func(ctx context.Context, stage func(string)) (string, error) {
		stage("sandbox creating")
		sb, err := s.pods.Run(ctx, req.GetConfig(), handler, ro, func(st string, d time.Duration) {
			log.Debug("pod stage done", "stage", st, "duration", d)
			s.obs().Metrics().Stage(st, d)
			stage(pending.PodStageAfter(st))
		})
		if err != nil {
			return "", err
		}
		if lx.GetResources() != nil || lx.GetOverhead() != nil {
			if err := s.pods.UpdateResources(sb, lx.GetOverhead(), lx.GetResources()); err != nil {
				_ = s.discardPod(ctx, sb.ID)
				return "", err
			}
		}
		s.links().MountPod(ctx, sb)
		if err := s.nriRunPod(ctx, sb); err != nil {
			return "", err
		}
		log.InfoContext(ctx, "Ran pod sandbox", "pod", sb.ID, "name", md.GetName(), "namespace", md.GetNamespace(), "ips", sb.IPs)
		return sb.ID, nil
	})
	if err != nil {
		return nil, pending.CreateError(err, "pod sandbox", cname)
	}
	s.pods.Publish(id)
	if repeat {
		log.InfoContext(ctx, "Handing out the pod sandbox an earlier request created", "pod", id, "name", cname)
	}
	return &runtimeapi.RunPodSandboxResponse{PodSandboxId: id}, nil
}

// handlerName maps the CRI runtime_handler to a configured handler.
func (s *Server) handlerName(name string) (string, error) {
	cfg := s.Config()
	if name == "" {
		return cfg.Crio.Runtime.DefaultRuntime, nil
	}
	if _, ok := cfg.Crio.Runtime.Runtimes[name]; !ok {
		return "", errdefs.Invalid("runtime_handler", "runtime_handler %q is not configured (have %v)", name, cfg.HandlerNames())
	}
	return name, nil
}

// podAnnotations applies the pod-level annotations the handler allows
// (shm-size); a malformed allowed one is InvalidArgument.
func (s *Server) podAnnotations(cfg *runtimeapi.PodSandboxConfig, handler string) (sandbox.RunOptions, error) {
	eff, err := annotations.Resolve(annotations.PodInput(&s.Config().Crio.Runtime, handler, cfg.GetAnnotations(), cgroupV2()))
	if err != nil {
		return sandbox.RunOptions{}, errdefs.Invalid("", "%w", err)
	}
	return sandbox.RunOptions{ShmSize: eff.ShmSize}, nil
}
