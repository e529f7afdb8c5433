package server

import (
	"fmt"
	"testing"

	"google.golang.org/grpc/encoding"
	"google.golang.org/protobuf/proto"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// The process's proto codec is wireCodec: a large answer round-trips in a
// buffer of its own size (grpc-go's took, and cleared, a 1 MiB one).
func TestWireCodecLargeMessage(t *testing.T) {
	c := encoding.GetCodecV2("proto")
	if _, ok := c.(wireCodec); !ok {
		t.Fatalf("registered proto codec is %T", c)
	}
	resp := &runtimeapi.ListContainersResponse{}
	for i := range 400 {
		resp.Containers = append(resp.Containers, &runtimeapi.Container{Id: fmt.Sprintf("%064d", i),
			Labels: map[string]string{"io.kubernetes.pod.name": fmt.Sprint("pod-", i)}})
	}
	data, err := c.Marshal(resp)
	if err != nil {
		t.Fatal(err)
	}
	size := proto.Size(resp)
	if size <= 32<<10 || data.Len() != size || len(data) != 1 || cap(data[0].ReadOnlyData()) > size {
		t.Fatalf("size %d: %d buffers, %d bytes", size, len(data), data.Len())
	}
	got := &runtimeapi.ListContainersResponse{}
	if err := c.Unmarshal(data, got); err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(got, resp) {
		t.Error("round trip changed the message")
	}
	if _, err := c.Marshal("not a message"); err == nil {
		t.Error("marshalled a string")
	}
}

// A message of unknown fields only (a list answer of kept entries) goes out
// as those bytes, not a copy; one with known fields too is marshalled.
func TestWireCodecSendsKeptEncoding(t *testing.T) {
	entry, err := proto.Marshal(&runtimeapi.PodSandbox{Id: "p", Labels: map[string]string{"a": "b"}})
	if err != nil {
		t.Fatal(err)
	}
	buf := appendEntry(nil, podItemsField, entry, podState, int32(runtimeapi.PodSandboxState_SANDBOX_READY))
	resp := &runtimeapi.ListPodSandboxResponse{}
	resp.ProtoReflect().SetUnknown(buf)
	data, err := wireCodec{}.Marshal(resp)
	if err != nil {
		t.Fatal(err)
	}
	if got := data[0].ReadOnlyData(); len(got) != len(buf) || &got[0] != &buf[0] {
		t.Error("the kept encoding was copied")
	}
	mixed := &runtimeapi.ListPodSandboxResponse{Items: []*runtimeapi.PodSandbox{{Id: "q"}}}
	mixed.ProtoReflect().SetUnknown(buf)
	data, err = wireCodec{}.Marshal(mixed)
	if err != nil {
		t.Fatal(err)
	}
	got := &runtimeapi.ListPodSandboxResponse{}
	if err := (wireCodec{}).Unmarshal(data, got); err != nil {
		t.Fatal(err)
	}
	if len(got.Items) != 2 || got.Items[0].Id != "q" || got.Items[1].Id != "p" || got.Items[1].State != runtimeapi.PodSandboxState_SANDBOX_READY {
		t.Errorf("decoded %v", got)
	}
}
