package config

import (
	"slices"
	"strings"
)

// PodMetricGroups are the included_pod_metrics names CRI-O knows. "all"
// alone selects every group; an empty list reports only the always-on
// metrics (container_last_seen), as in CRI-O.
var PodMetricGroups = []string{"cpu", "hugetlb", "memory", "network", "oom", "process", "spec", "disk", "diskIO", "pressure"}

// AllPodMetrics is the included_pod_metrics value that selects every group.
const AllPodMetrics = "all"

func (s StatsConfig) validatePodMetrics() error {
	if len(s.IncludedPodMetrics) == 1 && s.IncludedPodMetrics[0] == AllPodMetrics {
		return nil
	}
	for _, g := range s.IncludedPodMetrics {
		if g == AllPodMetrics {
			return bad("crio.stats.included_pod_metrics", g, "must be the only item when given")
		}
		if !slices.Contains(PodMetricGroups, g) {
			return bad("crio.stats.included_pod_metrics", g, "unknown group; known: %s", strings.Join(PodMetricGroups, ", "))
		}
	}
	return nil
}

// PodMetricIncluded reports whether ListPodSandboxMetrics reports group g
// ("" is the always-on group).
func (s StatsConfig) PodMetricIncluded(g string) bool {
	if g == "" {
		return true
	}
	if len(s.IncludedPodMetrics) == 1 && s.IncludedPodMetrics[0] == AllPodMetrics {
		return true
	}
	return slices.Contains(s.IncludedPodMetrics, g)
}
