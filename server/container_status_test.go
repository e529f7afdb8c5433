package server

import (
	"encoding/json"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// TestVerboseInfoAsBefore: the verbose status with its spliced-in spec is
// what marshaling the whole map gives, with and without a spec, and a
// second call (the cached spec) answers the same.
func TestVerboseInfoAsBefore(t *testing.T) {
	sp := &specs.Spec{Version: "1.2.0", Hostname: "h<&>", Process: &specs.Process{Args: []string{"sleep", "1"}, Env: []string{"A=b"}},
		Linux: &specs.Linux{Namespaces: []specs.LinuxNamespace{{Type: specs.PIDNamespace}}}, Annotations: map[string]string{"z": "1", "a": "2"}}
	info := containerInfo{Bundle: "/run/b", MonitorPid: 7, Pid: 9, Privileged: true, RuntimeHandler: "runc", SandboxID: "pod"}
	for _, s := range []*specs.Spec{sp, nil} {
		want, err := json.Marshal(map[string]any{
			"pid": info.Pid, "monitorPid": info.MonitorPid, "sandboxID": info.SandboxID, "runtimeHandler": info.RuntimeHandler,
			"bundle": info.Bundle, "runtimeSpec": s, "privileged": info.Privileged,
		})
		if err != nil {
			t.Fatal(err)
		}
		for range 2 {
			got, err := encodeInfo(info, s)
			if err != nil {
				t.Fatal(err)
			}
			if got != string(want) {
				t.Fatalf("got  %s\nwant %s", got, want)
			}
		}
	}
}
