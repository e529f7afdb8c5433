package network

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/containernetworking/cni/libcni"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

func TestContribConflistIsTheBuiltIn(t *testing.T) {
	got, err := os.ReadFile("../../contrib/cni/10-crio-bridge.conflist")
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != defaultConflist {
		t.Error("contrib/cni/10-crio-bridge.conflist differs from internal/network/default.conflist")
	}
}

func TestLoadConfig(t *testing.T) {
	dir := t.TempDir()
	list, src, err := LoadConfig(dir, "", "10.99.0.0/16")
	if err != nil || !src.Embedded || list.Name != "crio" || !strings.Contains(string(list.Bytes), "10.99.0.0/16") {
		t.Fatalf("empty dir: %v %v %s", err, src, list.Bytes)
	}
	conf := `{"cniVersion":"1.0.0","name":"%s","plugins":[{"type":"bridge"}]}`
	for _, n := range []string{"20-b.conflist", "10-a.conflist"} {
		body := strings.Replace(conf, "%s", strings.TrimSuffix(n, ".conflist"), 1)
		if err := os.WriteFile(filepath.Join(dir, n), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	list, src, err = LoadConfig(dir, "", "")
	if err != nil || list.Name != "10-a" || src.File != filepath.Join(dir, "10-a.conflist") {
		t.Fatalf("first lexical config: %v %v %v", err, src, list)
	}
	if list, _, err = LoadConfig(dir, "20-b", ""); err != nil || list.Name != "20-b" {
		t.Fatalf("named network: %v %v", err, list)
	}
	if _, _, err = LoadConfig(dir, "nope", ""); err == nil {
		t.Fatal("unknown network name must fail")
	}
	m := NewManager(dir, "", "", []string{t.TempDir()}, t.TempDir())
	defer m.Close()
	if err := m.Ready(); err == nil || !strings.Contains(err.Error(), `cni plugin "loopback" not found`) {
		t.Fatalf("Ready without plugins: %v", err)
	}
}

// Ready remembers where each plugin was found, and notices one removed
// (NetworkPluginNotReady) or installed again in another plugin dir.
func TestReadyNoticesPluginsComeAndGo(t *testing.T) {
	conf := t.TempDir()
	body := `{"cniVersion":"1.0.0","name":"n","plugins":[{"type":"bridge"}]}`
	if err := os.WriteFile(filepath.Join(conf, "10-n.conflist"), []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	first, second := t.TempDir(), t.TempDir()
	install := func(dir, name string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	install(second, "loopback")
	install(second, "bridge")
	m := NewManager(conf, "", "", []string{first, second}, t.TempDir())
	defer m.Close()
	for i := 0; i < 2; i++ {
		if err := m.Ready(); err != nil {
			t.Fatalf("Ready with the plugins in the second dir (call %d): %v", i, err)
		}
	}
	if err := os.Remove(filepath.Join(second, "bridge")); err != nil {
		t.Fatal(err)
	}
	if err := m.Ready(); !errors.Is(err, ErrNotReady) || !strings.Contains(err.Error(), `"bridge"`) {
		t.Fatalf("Ready with bridge removed: %v", err)
	}
	install(first, "bridge")
	if err := m.Ready(); err != nil {
		t.Fatalf("Ready with bridge in the first dir: %v", err)
	}
}

func TestParseBandwidthAndCapabilityArgs(t *testing.T) {
	for in, want := range map[string]int64{"10M": 10_000_000, "1Gi": 1 << 30, "500k": 500_000, "2000": 2000} {
		if got, err := ParseBandwidth(in); err != nil || got != want {
			t.Errorf("ParseBandwidth(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "fast", "10X", "1", "2P0"} {
		if _, err := ParseBandwidth(bad); err == nil {
			t.Errorf("ParseBandwidth(%q) accepted", bad)
		}
	}
	rt := runtimeConf(Pod{ID: "x", IngressBPS: 1e6})
	bw, ok := rt.CapabilityArgs["bandwidth"].(map[string]any)
	if !ok || bw["ingressRate"] != int64(1e6) {
		t.Errorf("bandwidth capability args: %v", rt.CapabilityArgs)
	}
}

func TestWithoutPortmapWhenNoHostPorts(t *testing.T) {
	list, _, err := LoadConfig(t.TempDir(), "", "10.0.0.0/24")
	if err != nil {
		t.Fatal(err)
	}
	trimmed := withoutPlugin(list, "portmap")
	if len(trimmed.Plugins) != 1 || trimmed.Plugins[0].Network.Type != "bridge" || strings.Contains(string(trimmed.Bytes), "portmap") {
		t.Errorf("trimmed: %s", trimmed.Bytes)
	}
	if got := withoutPlugin(trimmed, "bridge"); got != trimmed {
		t.Error("a chain is never trimmed to nothing")
	}
}

// A chain's loopback is dropped (the daemon brings lo up itself); a list of
// loopback alone is kept, as its result is then the pod's.
func TestPlanDropsChainedLoopback(t *testing.T) {
	root := t.TempDir()
	m := NewManager(root, "", "10.98.0.0/16", nil, filepath.Join(root, "cache"))
	defer m.Close()
	chain := `{"cniVersion":"1.0.0","name":"n","plugins":[{"type":"bridge"},{"type":"portmap","capabilities":{"portMappings":true}},{"type":"loopback"}]}`
	if err := os.WriteFile(filepath.Join(root, "10-n.conflist"), []byte(chain), 0o644); err != nil {
		t.Fatal(err)
	}
	types := func(p Pod) []string {
		a, err := m.Plan(p)
		if err != nil {
			t.Fatal(err)
		}
		list, err := libcni.NetworkConfFromBytes(a.Config)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, pl := range list.Plugins {
			out = append(out, pl.Network.Type)
		}
		return out
	}
	if got := types(Pod{ID: "p"}); !slices.Equal(got, []string{"bridge"}) {
		t.Errorf("pod without host ports runs %v, want [bridge]", got)
	}
	ports := []*runtimeapi.PortMapping{{HostPort: 8080, ContainerPort: 80}}
	if got := types(Pod{ID: "p", PortMappings: ports}); !slices.Equal(got, []string{"bridge", "portmap"}) {
		t.Errorf("pod with host ports runs %v, want [bridge portmap]", got)
	}
	only := `{"cniVersion":"1.0.0","name":"lo","plugins":[{"type":"loopback"}]}`
	if err := os.WriteFile(filepath.Join(root, "01-lo.conflist"), []byte(only), 0o644); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if a, _ := m.Plan(Pod{ID: "p"}); a != nil && a.Network == "lo" {
			break
		}
	}
	if got := types(Pod{ID: "p"}); !slices.Equal(got, []string{"loopback"}) {
		t.Errorf("loopback-only network runs %v, want [loopback]", got)
	}
}
