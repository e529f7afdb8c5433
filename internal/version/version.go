// Package version reports what this build is.
package version

import (
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strings"
)

// Version is set at link time (-X); the default marks a development build.
var Version = "0.1.0-dev"

// GitCommit, GitCommitDate and BuildDate are set at link time by the Makefile; GitCommit
// ends in "-dirty" for a modified tree. Builds without them fall back to the
// VCS stamp Go records.
var (
	GitCommit     string
	GitCommitDate string
	BuildDate     string
)

// RuntimeName is what the Version RPC reports.
const RuntimeName = "crio"

// CRIVersion is the CRI API version served.
const CRIVersion = "v1"

// Info is what `crio version` prints: CRI-O's fields and JSON names.
type Info struct {
	Version         string   `json:"version,omitempty"`
	GitCommit       string   `json:"gitCommit,omitempty"`
	GitCommitDate   string   `json:"gitCommitDate,omitempty"`
	GitTreeState    string   `json:"gitTreeState,omitempty"`
	BuildDate       string   `json:"buildDate,omitempty"`
	GoVersion       string   `json:"goVersion,omitempty"`
	Compiler        string   `json:"compiler,omitempty"`
	Platform        string   `json:"platform,omitempty"`
	Linkmode        string   `json:"linkmode,omitempty"`
	BuildTags       []string `json:"buildTags,omitempty"`
	LDFlags         string   `json:"ldFlags,omitempty"`
	SeccompEnabled  bool     `json:"seccompEnabled"`
	AppArmorEnabled bool     `json:"appArmorEnabled"`
	Dependencies    []string `json:"dependencies,omitempty"`
}

const unknown = "unknown"

// Get returns the build's version info; verbose adds the Go dependencies.
func Get(verbose bool) Info {
	info := Info{
		Version: Version, GitCommit: unknown, GitCommitDate: unknown, GitTreeState: "clean",
		BuildDate: BuildDate, GoVersion: runtime.Version(), Compiler: runtime.Compiler,
		Platform: runtime.GOOS + "/" + runtime.GOARCH, Linkmode: "dynamic", BuildTags: []string{}, LDFlags: unknown,
		SeccompEnabled: kernelHas("/proc/self/status", "Seccomp:"), AppArmorEnabled: appArmorEnabled(),
	}
	if info.BuildDate == "" {
		info.BuildDate = unknown
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				info.GitCommit = s.Value
			case "vcs.modified":
				if s.Value == "true" {
					info.GitTreeState = "dirty"
				}
			case "vcs.time":
				info.GitCommitDate = s.Value
			case "-tags":
				info.BuildTags = strings.Split(s.Value, ",")
			case "-ldflags":
				info.LDFlags = s.Value
			case "CGO_ENABLED":
				if s.Value == "0" {
					info.Linkmode = "static"
				}
			}
		}
		if verbose {
			for _, d := range bi.Deps {
				info.Dependencies = append(info.Dependencies, strings.TrimSpace(d.Path+" "+d.Version+" "+d.Sum))
			}
		}
	}
	if info.GitCommitDate == unknown && GitCommitDate != "" {
		info.GitCommitDate = GitCommitDate
	}
	if info.GitCommit == unknown && GitCommit != "" {
		commit, dirty := strings.CutSuffix(GitCommit, "-dirty")
		info.GitCommit = commit
		if dirty {
			info.GitTreeState = "dirty"
		}
	}
	return info
}

// String renders the info as CRI-O does: one "Key:  value" line per field,
// values aligned; list items one per line below their key.
func (i Info) String() string {
	var b strings.Builder
	row := func(k string, v any) { fmt.Fprintf(&b, "%-17s%v\n", k+":", v) }
	list := func(k string, items []string) {
		b.WriteString(k + ":\n")
		for _, it := range items {
			fmt.Fprintf(&b, "  %s\n", it)
		}
	}
	row("Version", i.Version)
	row("GitCommit", i.GitCommit)
	row("GitCommitDate", i.GitCommitDate)
	row("GitTreeState", i.GitTreeState)
	row("BuildDate", i.BuildDate)
	row("GoVersion", i.GoVersion)
	row("Compiler", i.Compiler)
	row("Platform", i.Platform)
	row("Linkmode", i.Linkmode)
	list("BuildTags", i.BuildTags)
	row("LDFlags", i.LDFlags)
	row("SeccompEnabled", i.SeccompEnabled)
	row("AppArmorEnabled", i.AppArmorEnabled)
	if len(i.Dependencies) > 0 {
		list("Dependencies", i.Dependencies)
	}
	return b.String()
}

func kernelHas(file, prefix string) bool {
	b, err := os.ReadFile(file)
	return err == nil && strings.Contains(string(b), "\n"+prefix)
}

func appArmorEnabled() bool {
	b, err := os.ReadFile("/sys/module/apparmor/parameters/enabled")
	return err == nil && strings.TrimSpace(string(b)) == "Y"
}
