package sandbox

import (
	"os"
	"testing"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/crio-runtime/crio/internal/proc"
)

// A pod's infra is identified by pid and start time; a pid alone proves
// nothing once the process died.
func TestStateFollowsInfra(t *testing.T) {
	start, err := proc.StartTime(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	ready := runtimeapi.PodSandboxState_SANDBOX_READY
	for name, tc := range map[string]struct {
		sb   *Sandbox
		want runtimeapi.PodSandboxState
	}{
		"no infra":              {&Sandbox{Ready: true}, ready},
		"infra running":         {&Sandbox{Ready: true, InfraPID: os.Getpid(), InfraStart: start}, ready},
		"pid names another one": {&Sandbox{Ready: true, InfraPID: os.Getpid(), InfraStart: start + 1}, runtimeapi.PodSandboxState_SANDBOX_NOTREADY},
		"no start time":         {&Sandbox{Ready: true, InfraPID: os.Getpid()}, runtimeapi.PodSandboxState_SANDBOX_NOTREADY},
		"stopped":               {&Sandbox{}, runtimeapi.PodSandboxState_SANDBOX_NOTREADY},
	} {
		if got := tc.sb.State(); got != tc.want {
			t.Errorf("%s: %v, want %v", name, got, tc.want)
		}
	}
	sb := Sandbox{InfraPID: os.Getpid(), InfraStart: start, Namespaces: map[NS]string{PIDNS: "/pinned"}}
	if sb.PIDNamespace() != "/pinned" {
		t.Errorf("containers must join the pinned namespace, got %q", sb.PIDNamespace())
	}
}
