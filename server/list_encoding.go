package server

import (
	"sync"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// The kubelet lists every pod and container each second (PLEG). Their
// labels and annotations are maps, which protobuf-go encodes by reflection
// with allocations per entry: a list of 110 kubelet-labelled containers
// took ~1.9 ms to encode here. Everything a list entry holds but its state
// is fixed at creation, so each entry's encoding without the state is kept
// (listEntries), and a list answer is those bytes, each with its current
// state appended, set as the response's unknown fields. On the wire that
// is the repeated field itself: clients decode the usual items.

// listEntries keeps the encoded entries of listed objects, by object.
type listEntries[K comparable] struct {
	mu sync.Mutex
	m  map[K][]byte
}

// get returns k's entry, encoding build's message the first time; nil if
// it cannot be encoded (the caller then answers the plain way).
func (e *listEntries[K]) get(k K, build func() proto.Message) []byte {
	e.mu.Lock()
	b, ok := e.m[k]
	e.mu.Unlock()
	if ok {
		return b
	}
	b, err := proto.Marshal(build())
	if err != nil {
		return nil
	}
	e.mu.Lock()
	if e.m == nil {
		e.m = map[K][]byte{}
	}
	e.m[k] = b
	e.mu.Unlock()
	return b
}

// keepOnly drops the entries of objects not in live (every object there is
// now) once the map holds more entries than there are objects: the map
// stays bounded by the object count, and a list of all, which keeps an
// entry for each object, leaves none stale.
func (e *listEntries[K]) keepOnly(live []K) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.m) <= len(live) {
		return
	}
	next := make(map[K][]byte, len(live))
	for _, k := range live {
		if b, ok := e.m[k]; ok {
			next[k] = b
		}
	}
	e.m = next
}

// listing says how a list answer is made of objects of type K.
type listing[K any] struct {
	field, stateField protowire.Number      // the answer's repeated field, the entry's state
	matches           func(K) bool          // the request's filter
	item              func(K) proto.Message // the entry, its state left 0
	state             func(K) int32
}

// encode is a list answer's repeated field: the kept entry of each of
// objs (every object there is) that matches, with its current state,
// in one buffer of the answer's size. Entries of objects gone are dropped.
// False if an entry cannot be encoded.
func (e *listEntries[K]) encode(objs []K, l listing[K]) ([]byte, bool) {
	type item struct {
		entry []byte
		state int32
	}
	items := make([]item, 0, len(objs))
	size := 0
	for _, o := range objs {
		if !l.matches(o) {
			continue
		}
		entry := e.get(o, func() proto.Message { return l.item(o) })
		if entry == nil {
			return nil, false
		}
		items = append(items, item{entry, l.state(o)})
		size += len(entry) + listEntryOverhead
	}
	e.keepOnly(objs)
	buf := make([]byte, 0, size)
	for _, it := range items {
		buf = appendEntry(buf, l.field, it.entry, l.stateField, it.state)
	}
	return buf, true
}

// fieldNumber is the number of a message's field, by name.
func fieldNumber(m proto.Message, name protoreflect.Name) protowire.Number {
	return m.ProtoReflect().Descriptor().Fields().ByName(name).Number()
}

var (
	containerState    = fieldNumber(&runtimeapi.Container{}, "state")
	containersField   = fieldNumber(&runtimeapi.ListContainersResponse{}, "containers")
	podState          = fieldNumber(&runtimeapi.PodSandbox{}, "state")
	podItemsField     = fieldNumber(&runtimeapi.ListPodSandboxResponse{}, "items")
	listEntryOverhead = 2*protowire.SizeTag(1) + 2*protowire.SizeVarint(1<<31)
)

// appendEntry appends one element of repeated message field to a list
// answer: the kept encoding plus the enum state (omitted when 0, as
// proto3 does).
func appendEntry(buf []byte, field protowire.Number, entry []byte, stateField protowire.Number, state int32) []byte {
	n := len(entry)
	if state != 0 {
		n += protowire.SizeTag(stateField) + protowire.SizeVarint(uint64(state))
	}
	buf = protowire.AppendTag(buf, field, protowire.BytesType)
	buf = protowire.AppendVarint(buf, uint64(n))
	buf = append(buf, entry...)
	if state != 0 {
		buf = protowire.AppendTag(buf, stateField, protowire.VarintType)
		buf = protowire.AppendVarint(buf, uint64(state))
	}
	return buf
}
