package oci

import (
	"context"
	"encoding/json"
	"os/exec"
	"slices"
	"sync"
	"time"
)

// HandlerFeatures is what a runtime binary says it can do ("<runtime>
// features", OCI runtime-spec features.md), reduced to what the daemon uses.
type HandlerFeatures struct {
	// UserNamespaces: the runtime can create or join a user namespace and
	// idmap bind mounts, which a pod with its own user namespace needs for
	// its rootfs layers and volumes to keep their owners.
	UserNamespaces bool
}

// featuresDoc is the part of the features JSON read here.
type featuresDoc struct {
	Linux *struct {
		Namespaces      []string `json:"namespaces"`
		MountExtensions *struct {
			IDMap *struct {
				Enabled *bool `json:"enabled"`
			} `json:"idmap"`
		} `json:"mountExtensions"`
	} `json:"linux"`
}

// parseFeatures reads the features JSON; unknown or missing fields mean
// "not supported".
func parseFeatures(data []byte) HandlerFeatures {
	var doc featuresDoc
	if json.Unmarshal(data, &doc) != nil || doc.Linux == nil {
		return HandlerFeatures{}
	}
	l := doc.Linux
	idmap := l.MountExtensions != nil && l.MountExtensions.IDMap != nil &&
		l.MountExtensions.IDMap.Enabled != nil && *l.MountExtensions.IDMap.Enabled
	return HandlerFeatures{UserNamespaces: idmap && slices.Contains(l.Namespaces, "user")}
}

var featureCache sync.Map // runtime path -> HandlerFeatures

// Features probes the runtime at path once ("features" is a static answer
// of the binary) and caches the answer; a runtime without the subcommand
// (runc < 1.1) supports none of them.
func Features(path string) HandlerFeatures {
	if path == "" {
		return HandlerFeatures{}
	}
	if f, ok := featureCache.Load(path); ok {
		return f.(HandlerFeatures)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, path, "features").Output()
	f := HandlerFeatures{}
	if err == nil {
		f = parseFeatures(out)
	}
	f.UserNamespaces = f.UserNamespaces && mountSetattr()
	if ctx.Err() == nil {
		featureCache.Store(path, f) // a timeout is retried next time
	}
	return f
}
