package server

import (
	"fmt"
	"testing"

	"google.golang.org/grpc/encoding"
	"google.golang.org/protobuf/proto"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// The process's proto codec is wireCodec: messages small, pooled and large
// round-trip, a large one in a buffer of its own size (grpc-go's took, and
// cleared, a 1 MiB one).
func TestWireCodecSizes(t *testing.T) {
	c := encoding.GetCodecV2("proto")
	if _, ok := c.(wireCodec); !ok {
		t.Fatalf("registered proto codec is %T", c)
	}
	for _, n := range []int{1, 40, 400} {
		resp := &runtimeapi.ListContainersResponse{}
		for i := range n {
			resp.Containers = append(resp.Containers, &runtimeapi.Container{Id: fmt.Sprintf("%064d", i),
				Labels: map[string]string{"io.kubernetes.pod.name": fmt.Sprint("pod-", i)}})
		}
		data, err := c.Marshal(resp)
		if err != nil {
			t.Fatal(err)
		}
		size := proto.Size(resp)
		if data.Len() != size || len(data) != 1 {
			t.Fatalf("%d items, size %d: %d buffers, %d bytes", n, size, len(data), data.Len())
		}
		if size > pooledMax && cap(data[0].ReadOnlyData()) > size {
			t.Errorf("size %d sent in a buffer of %d", size, cap(data[0].ReadOnlyData()))
		}
		got := &runtimeapi.ListContainersResponse{}
		if err := c.Unmarshal(data, got); err != nil {
			t.Fatal(err)
		}
		if !proto.Equal(got, resp) {
			t.Errorf("%d items: round trip changed the message", n)
		}
		data.Free()
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
