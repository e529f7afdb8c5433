package server

import (
	"fmt"
	"testing"

	"google.golang.org/protobuf/proto"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// A list answer made of kept entries plus states decodes to the items a
// plain answer holds, whatever the state (0 included, which proto3 omits).
func TestListEntriesDecodeAsItems(t *testing.T) {
	item := func(id string) *runtimeapi.Container {
		return &runtimeapi.Container{
			Id: id, PodSandboxId: "pod-" + id, Metadata: &runtimeapi.ContainerMetadata{Name: "c", Attempt: 2},
			Image: &runtimeapi.ImageSpec{Image: "img", UserSpecifiedImage: "registry/img:1"}, ImageRef: "sha256:abc", ImageId: "abc",
			CreatedAt: 42, Labels: map[string]string{"a": "1", "io.kubernetes.pod.name": "p"},
			Annotations: map[string]string{"io.kubernetes.container.hash": "x", "empty": ""},
		}
	}
	var entries listEntries[string]
	want := &runtimeapi.ListContainersResponse{}
	var buf []byte
	states := []runtimeapi.ContainerState{runtimeapi.ContainerState_CONTAINER_CREATED, runtimeapi.ContainerState_CONTAINER_RUNNING,
		runtimeapi.ContainerState_CONTAINER_EXITED, runtimeapi.ContainerState_CONTAINER_UNKNOWN}
	for i, st := range states {
		id := string(rune('a' + i))
		entry := entries.get(id, func() proto.Message { return item(id) })
		if again := entries.get(id, func() proto.Message { t.Fatal("encoded twice"); return nil }); string(again) != string(entry) {
			t.Fatal("kept entry changed")
		}
		buf = appendEntry(buf, containersField, entry, containerState, int32(st))
		it := item(id)
		it.State = st
		want.Containers = append(want.Containers, it)
	}
	resp := &runtimeapi.ListContainersResponse{}
	resp.ProtoReflect().SetUnknown(buf)
	wire, err := proto.Marshal(resp)
	if err != nil {
		t.Fatal(err)
	}
	got := &runtimeapi.ListContainersResponse{}
	if err := proto.Unmarshal(wire, got); err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(got, want) {
		t.Errorf("decoded %v\nwant %v", got, want)
	}
	entries.keepOnly([]string{"b", "d", "e", "f"}) // no more entries than objects: kept
	if len(entries.m) != 4 {
		t.Errorf("kept after keepOnly of as many: %v", entries.m)
	}
	entries.keepOnly([]string{"b", "d"})
	if len(entries.m) != 2 || entries.m["a"] != nil || entries.m["b"] == nil {
		t.Errorf("kept after keepOnly: %v", entries.m)
	}
}

// An entry that cannot be encoded (a string that is not UTF-8) is not
// kept: the caller answers the plain way.
func TestListEntryUnencodable(t *testing.T) {
	var entries listEntries[int]
	bad := &runtimeapi.PodSandbox{Id: "x", Labels: map[string]string{"k": "\xff"}}
	if b := entries.get(1, func() proto.Message { return bad }); b != nil {
		t.Errorf("entry %q", b)
	}
	if len(entries.m) != 0 {
		t.Error("unencodable entry kept")
	}
}

// encode leaves out what the filter refuses, and drops the entries of
// objects no longer there, filtered or not.
func TestListEntriesEncode(t *testing.T) {
	var entries listEntries[string]
	l := listing[string]{field: podItemsField, stateField: podState,
		matches: func(id string) bool { return id != "b" },
		item:    func(id string) proto.Message { return &runtimeapi.PodSandbox{Id: id} },
		state:   func(id string) int32 { return int32(len(id) % 2) },
	}
	decode := func(buf []byte) []string {
		resp := &runtimeapi.ListPodSandboxResponse{}
		resp.ProtoReflect().SetUnknown(buf)
		wire, _ := proto.Marshal(resp)
		got := &runtimeapi.ListPodSandboxResponse{}
		if err := proto.Unmarshal(wire, got); err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, it := range got.Items {
			ids = append(ids, it.Id+":"+it.State.String())
		}
		return ids
	}
	buf, ok := entries.encode([]string{"a", "b", "cc"}, l)
	if got := decode(buf); !ok || fmt.Sprint(got) != "[a:SANDBOX_NOTREADY cc:SANDBOX_READY]" {
		t.Errorf("filtered: %v %v", got, ok)
	}
	l.matches = func(string) bool { return true }
	buf, _ = entries.encode([]string{"b", "cc"}, l)
	if got := decode(buf); fmt.Sprint(got) != "[b:SANDBOX_NOTREADY cc:SANDBOX_READY]" {
		t.Errorf("all: %v", got)
	}
	if _, kept := entries.m["a"]; kept || len(entries.m) != 2 {
		t.Errorf("kept after a list without a: %v", entries.m)
	}
	l.matches = func(id string) bool { return id != "b" }
	buf, _ = entries.encode([]string{"cc"}, l) // b is gone; the filter took cc
	if got := decode(buf); fmt.Sprint(got) != "[cc:SANDBOX_READY]" || len(entries.m) != 1 {
		t.Errorf("filtered after a removal: %v, kept %v", got, entries.m)
	}
	l.item = func(id string) proto.Message { return &runtimeapi.PodSandbox{Id: "\xff"} }
	if _, ok := entries.encode([]string{"new"}, l); ok {
		t.Error("an entry that cannot be encoded was listed")
	}
}
