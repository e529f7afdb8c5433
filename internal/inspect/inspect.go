// Package inspect serves CRI-O's HTTP API on the CRI socket: GET /info,
// /config and /containers/{id}, with CRI-O's JSON field names. cAdvisor
// (in every kubelet whose runtime endpoint ends in run/crio/crio.sock)
// reads /info for the storage it reports as the image filesystem and
// /containers/{id} to name a crio-<id> cgroup's pod and container; `curl
// --unix-socket` users read the same.
package inspect

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/crio-runtime/crio/internal/errdefs"
)

// Info is GET /info.
type Info struct {
	StorageDriver     string     `json:"storage_driver"`
	StorageImage      string     `json:"storage_image"`
	StorageRoot       string     `json:"storage_root"`
	CgroupDriver      string     `json:"cgroup_driver"`
	DefaultIDMappings IDMappings `json:"default_id_mappings"`
}

// IDMappings are the user namespace mappings containers get by default.
type IDMappings struct {
	Uids []IDMap `json:"uids"`
	Gids []IDMap `json:"gids"`
}

// IDMap is one range of a mapping.
type IDMap struct {
	ContainerID int `json:"container_id"`
	HostID      int `json:"host_id"`
	Size        int `json:"size"`
}

// Container is GET /containers/{id}: a container, or a pod's infra (its
// id is the pod's).
type Container struct {
	Name            string            `json:"name"`
	Pid             int               `json:"pid"`
	Image           string            `json:"image"`
	ImageRef        string            `json:"image_ref"`
	CreatedTime     int64             `json:"created_time"`
	Labels          map[string]string `json:"labels"`
	Annotations     map[string]string `json:"annotations"`
	CrioAnnotations map[string]string `json:"crio_annotations"`
	LogPath         string            `json:"log_path"`
	Root            string            `json:"root"`
	Sandbox         string            `json:"sandbox"`
	IPs             []string          `json:"ip_addresses"`
}

// Source answers the requests.
type Source interface {
	Info() Info
	// Config is the running config as TOML.
	Config() ([]byte, error)
	// Container is a container or pod by full id; errdefs NotFound when
	// there is none.
	Container(id string) (*Container, error)
}

// Handler routes CRI-O's paths to src.
func Handler(src Source) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /info", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, src.Info())
	})
	mux.HandleFunc("GET /config", func(w http.ResponseWriter, _ *http.Request) {
		b, err := src.Config()
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/toml")
		_, _ = w.Write(b)
	})
	mux.HandleFunc("GET /containers/{id}", func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		c, err := src.Container(id)
		switch {
		case errors.Is(err, errdefs.ErrNotFound):
			// cAdvisor retries a 404 for a cgroup whose container is
			// still being registered.
			http.Error(w, "can't find the container with id "+id, http.StatusNotFound)
		case err != nil:
			http.Error(w, err.Error(), http.StatusInternalServerError)
		default:
			writeJSON(w, c)
		}
	})
	return mux
}

func writeJSON(w http.ResponseWriter, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(b)
}
