// Package version reports what this build is.
package version

import (
	"runtime"
	"runtime/debug"
)

// Version is set at link time (-X); the default marks a development build.
var Version = "0.1.0-dev"

// RuntimeName is what the Version RPC reports.
const RuntimeName = "crio"

// CRIVersion is the CRI API version served.
const CRIVersion = "v1"

// Info is what `crio version` prints.
type Info struct {
	Version   string `json:"version"`
	GitCommit string `json:"gitCommit"`
	GoVersion string `json:"goVersion"`
	Compiler  string `json:"compiler"`
	Platform  string `json:"platform"`
	BuildTags string `json:"buildTags"`
}

// Get returns the build's version info.
func Get() Info {
	info := Info{
		Version:   Version,
		GoVersion: runtime.Version(),
		Compiler:  runtime.Compiler,
		Platform:  runtime.GOOS + "/" + runtime.GOARCH,
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				info.GitCommit = s.Value
			case "-tags":
				info.BuildTags = s.Value
			}
		}
	}
	return info
}
