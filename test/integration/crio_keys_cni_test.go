package integration

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/crio-runtime/crio/test/framework"
)

// recorderPlugin is a CNI plugin that keeps what it was given (its stdin
// holds the runtimeConfig of the capabilities it declares) and returns an
// empty result; it runs first in the chain, so the real plugins still work.
const recorderPlugin = `#!/bin/sh
case "$CNI_COMMAND" in
VERSION) echo '{"cniVersion":"1.0.0","supportedVersions":["0.3.1","0.4.0","1.0.0","1.1.0"]}'; exit 0 ;;
esac
cat > "$CRIO_KEYS_CNI_RECORD/$CNI_COMMAND-$CNI_CONTAINERID.json"
if [ "$CNI_COMMAND" = ADD ]; then echo '{"cniVersion":"1.0.0"}'; fi
`

// TestCRIOKeysCNI (issue 22, network keys): plugins declaring CRI-O's
// "io.kubernetes.cri.pod-annotations" and "cgroupPath" capabilities get the
// pod's annotations and cgroup parent; disable_hostport_mapping keeps port
// mappings (and so the portmap plugin) out of CNI.
func TestCRIOKeysCNI(t *testing.T) {
	for _, tc := range []struct {
		name    string
		disable bool
	}{{"hostport mapping", false}, {"disable_hostport_mapping", true}} {
		t.Run(tc.name, func(t *testing.T) {
			record := t.TempDir()
			d := framework.NewDaemon(t, framework.Options{Env: []string{"CRIO_KEYS_CNI_RECORD=" + record}})
			plugins := filepath.Join(d.Dir, "cni-plugins")
			if err := os.MkdirAll(plugins, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(plugins, "recorder"), []byte(recorderPlugin), 0o755); err != nil {
				t.Fatal(err)
			}
			addRecorder(t, filepath.Join(d.Dir, "cni", "10-test.conflist"))
			conf := "[crio.runtime]\ndisable_hostport_mapping = " + strconv.FormatBool(tc.disable) + "\n" +
				"[crio.network]\nplugin_dirs = [" + strconv.Quote(plugins) + ", \"/usr/lib/cni\", \"/opt/cni/bin\"]\n"
			if err := os.WriteFile(filepath.Join(d.ConfigDir, "60-cni.conf"), []byte(conf), 0o644); err != nil {
				t.Fatal(err)
			}
			d.Start()
			cfg := framework.PodConfig("cnicaps")
			cfg.Annotations = map[string]string{"example.com/team": "blue"}
			cfg.Linux.CgroupParent = "/crio-keys-cni"
			cfg.PortMappings = []*runtimeapi.PortMapping{{ContainerPort: 80, HostPort: int32(freePort(t))}}
			podID, _ := runPod(t, d, cfg)
			data, err := os.ReadFile(filepath.Join(record, "ADD-"+podID+".json"))
			if err != nil {
				t.Fatal(err)
			}
			var in struct {
				RuntimeConfig map[string]json.RawMessage `json:"runtimeConfig"`
			}
			if err := json.Unmarshal(data, &in); err != nil {
				t.Fatalf("%v: %s", err, data)
			}
			var ann map[string]string
			if err := json.Unmarshal(in.RuntimeConfig["io.kubernetes.cri.pod-annotations"], &ann); err != nil || ann["example.com/team"] != "blue" {
				t.Errorf("pod annotations capability: %v %s", err, data)
			}
			if got := string(in.RuntimeConfig["cgroupPath"]); got != `"/crio-keys-cni"` {
				t.Errorf("cgroupPath capability %s: %s", got, data)
			}
			if _, got := in.RuntimeConfig["portMappings"]; got == tc.disable {
				t.Errorf("portMappings passed=%v with disable_hostport_mapping=%v: %s", got, tc.disable, data)
			}
			if _, err := d.Runtime.RemovePodSandbox(framework.Ctx(t), &runtimeapi.RemovePodSandboxRequest{PodSandboxId: podID}); err != nil {
				t.Fatal(err)
			}
			d.Stop()
		})
	}
}

// addRecorder puts the recorder plugin first in a conflist.
func addRecorder(t *testing.T, path string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var list map[string]any
	if err := json.Unmarshal(data, &list); err != nil {
		t.Fatal(err)
	}
	rec := map[string]any{"type": "recorder", "capabilities": map[string]bool{
		"io.kubernetes.cri.pod-annotations": true, "cgroupPath": true, "portMappings": true,
	}}
	list["plugins"] = append([]any{rec}, list["plugins"].([]any)...)
	if data, err = json.Marshal(list); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}
