package network

import (
	"fmt"
	"strconv"
	"strings"
)

// Pod annotations the kubelet's users set to shape a pod's traffic; they
// reach the bandwidth plugin as its capability args.
const (
	IngressBandwidthAnnotation = "kubernetes.io/ingress-bandwidth"
	EgressBandwidthAnnotation  = "kubernetes.io/egress-bandwidth"
)

var quantitySuffixes = map[string]float64{
	"": 1, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15,
	"Ki": 1 << 10, "Mi": 1 << 20, "Gi": 1 << 30, "Ti": 1 << 40, "Pi": 1 << 50,
}

// ParseBandwidth reads a Kubernetes quantity ("10M", "1Gi", "500k") as bits
// per second. Rates outside 1 kbit/s .. 1 Pbit/s are refused, as the kubelet does.
func ParseBandwidth(q string) (int64, error) {
	q = strings.TrimSpace(q)
	i := strings.IndexFunc(q, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
	num, suffix := q, ""
	if i >= 0 {
		num, suffix = q[:i], q[i:]
	}
	mult, ok := quantitySuffixes[suffix]
	v, err := strconv.ParseFloat(num, 64)
	if !ok || err != nil || num == "" {
		return 0, fmt.Errorf("bandwidth %q is not a quantity like 10M", q)
	}
	bits := v * mult
	if bits < 1e3 || bits > 1e15 {
		return 0, fmt.Errorf("bandwidth %q is outside 1k..1P bits per second", q)
	}
	return int64(bits), nil
}
