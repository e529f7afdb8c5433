package server

import (
	"fmt"

	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/protoadapt"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// wireCodec replaces grpc-go's proto codec in this process and does what
// it does, but for two kinds of message. grpc-go marshals a message over
// 32 KiB into a pooled 1 MiB buffer that it clears whole on every use: for
// the kubelet's list of 110 containers (~60 KiB) each second that clear
// was 13 % of the daemon's CPU in the call. Such a message gets a buffer of
// its own size here, and a list answer already encoded (see
// list_encoding.go) is sent as it is.
type wireCodec struct{}

// pooledMax is the largest message grpc-go's pool holds in a buffer of at
// most twice its size (its tiers: 256 B, 4, 16 and 32 KiB, then 1 MiB).
const pooledMax = 32 << 10

func init() { encoding.RegisterCodecV2(wireCodec{}) }

// Name is the content subtype grpc-go's codec registers, which this
// replaces.
func (wireCodec) Name() string { return "proto" }

func (wireCodec) Marshal(v any) (mem.BufferSlice, error) {
	m := messageOf(v)
	if m == nil {
		return nil, fmt.Errorf("proto: cannot marshal %T, not a proto message", v)
	}
	if b := unknownOnly(m.ProtoReflect()); b != nil {
		return mem.BufferSlice{mem.SliceBuffer(b)}, nil
	}
	size := proto.Size(m)
	opts := proto.MarshalOptions{UseCachedSize: true} // the size just computed
	if mem.IsBelowBufferPoolingThreshold(size) || size > pooledMax {
		b, err := opts.MarshalAppend(make([]byte, 0, size), m)
		if err != nil {
			return nil, err
		}
		return mem.BufferSlice{mem.SliceBuffer(b)}, nil
	}
	pool := mem.DefaultBufferPool()
	buf := pool.Get(size)
	if _, err := opts.MarshalAppend((*buf)[:0], m); err != nil {
		pool.Put(buf)
		return nil, err
	}
	return mem.BufferSlice{mem.NewBuffer(buf, pool)}, nil
}

func (wireCodec) Unmarshal(data mem.BufferSlice, v any) error {
	m := messageOf(v)
	if m == nil {
		return fmt.Errorf("proto: cannot unmarshal into %T, not a proto message", v)
	}
	buf := data.MaterializeToBuffer(mem.DefaultBufferPool())
	defer buf.Free()
	return proto.Unmarshal(buf.ReadOnlyData(), m)
}

// unknownOnly is the encoding of a message that holds only unknown fields
// (a list answer made of kept entries): those bytes themselves, which a
// marshal would copy. Nil otherwise.
func unknownOnly(m protoreflect.Message) []byte {
	b := m.GetUnknown()
	if len(b) == 0 {
		return nil
	}
	known := false
	m.Range(func(protoreflect.FieldDescriptor, protoreflect.Value) bool {
		known = true
		return false
	})
	if known {
		return nil
	}
	return b
}

func messageOf(v any) proto.Message {
	switch m := v.(type) {
	case proto.Message:
		return m
	case protoadapt.MessageV1:
		return protoadapt.MessageV2Of(m)
	}
	return nil
}
