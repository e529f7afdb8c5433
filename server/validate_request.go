package server

import (
	"bytes"
	"fmt"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// checkNoNUL refuses a request with a NUL byte in any string field: no
// CRI string may hold one, and such a string would be cut short where it
// reaches a file, a path or a process (argv, env). Bytes fields count too:
// requests carry only env values as bytes. The error names the
// field, e.g. "config.envs[0].value".
func checkNoNUL(req any) error {
	m, ok := req.(proto.Message)
	if !ok {
		return nil
	}
	if path := nulField(m.ProtoReflect(), ""); path != "" {
		return status.Errorf(codes.InvalidArgument, "%s must not contain a NUL byte", path)
	}
	return nil
}

// nulField returns the path of the first string field holding a NUL.
func nulField(m protoreflect.Message, prefix string) (found string) {
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		name := prefix + string(fd.Name())
		switch {
		case fd.IsMap():
			v.Map().Range(func(k protoreflect.MapKey, mv protoreflect.Value) bool {
				key := k.String()
				if strings.IndexByte(key, 0) >= 0 {
					found = name + " (a key)"
					return false
				}
				found = nulValue(fd.MapValue(), mv, fmt.Sprintf("%s[%q]", name, key))
				return found == ""
			})
		case fd.IsList():
			l := v.List()
			for i := 0; i < l.Len() && found == ""; i++ {
				found = nulValue(fd, l.Get(i), fmt.Sprintf("%s[%d]", name, i))
			}
		default:
			found = nulValue(fd, v, name)
		}
		return found == ""
	})
	return found
}

func nulValue(fd protoreflect.FieldDescriptor, v protoreflect.Value, path string) string {
	switch fd.Kind() {
	case protoreflect.StringKind:
		if strings.IndexByte(v.String(), 0) >= 0 {
			return path
		}
	case protoreflect.BytesKind: // env values (KeyValue.value) are bytes
		if bytes.IndexByte(v.Bytes(), 0) >= 0 {
			return path
		}
	case protoreflect.MessageKind, protoreflect.GroupKind:
		return nulField(v.Message(), path+".")
	}
	return ""
}
