package cgroups

// WeightToShares converts v2 cpu.weight [1, 10000] to v1 cpu.shares
// [2, 262144], the inverse of runc's and the kubelet's conversion, as
// cAdvisor does.
func WeightToShares(weight uint64) uint64 {
	if weight == 0 {
		return 0
	}
	return 2 + ((weight-1)*262142)/9999
}
