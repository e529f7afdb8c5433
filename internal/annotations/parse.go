package annotations

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"path"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/crio-runtime/crio/pkg/config"
)

// parseUmask reads one to four octal digits.
func parseUmask(key, v string) (uint32, error) {
	if len(v) > 4 || strings.Trim(v, "01234567") != "" {
		return 0, bad(key, "%q is not an octal umask", v)
	}
	n, err := strconv.ParseUint(v, 8, 32)
	if err != nil {
		return 0, &Error{Annotation: key, Msg: fmt.Sprintf("%q is not an octal umask", v), Err: err}
	}
	return uint32(n), nil
}

func parseBool(key, v string) (bool, error) {
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, bad(key, "%q is not true or false", v)
	}
	return b, nil
}

// parseDevices reads "host[:container][:perms]" entries separated by
// commas; each host path must be in allowed_devices.
func parseDevices(key, v string, allowed []string) ([]Device, error) {
	var out []Device
	for _, entry := range strings.Split(v, ",") {
		if entry == "" {
			continue
		}
		d, err := parseDevice(entry)
		if err != nil {
			return nil, &Error{Annotation: key, Msg: fmt.Sprintf("bad device %q", entry), Err: err}
		}
		if !slices.Contains(allowed, d.HostPath) {
			return nil, bad(key, "device %s is not in allowed_devices", d.HostPath)
		}
		out = append(out, d)
	}
	return out, nil
}

func parseDevice(s string) (Device, error) {
	parts := strings.Split(s, ":")
	d := Device{HostPath: parts[0], Permissions: "rwm"}
	switch len(parts) {
	case 1:
	case 2:
		if validPerms(parts[1]) {
			d.Permissions = parts[1]
		} else {
			d.ContainerPath = parts[1]
		}
	case 3:
		if !validPerms(parts[2]) {
			return d, fmt.Errorf("permissions %q are not a combination of r, w and m", parts[2])
		}
		d.ContainerPath, d.Permissions = parts[1], parts[2]
	default:
		return d, errors.New("want host[:container][:permissions]")
	}
	if !path.IsAbs(d.HostPath) {
		return d, fmt.Errorf("host path %q is not absolute", d.HostPath)
	}
	d.HostPath = path.Clean(d.HostPath)
	if d.ContainerPath == "" {
		d.ContainerPath = d.HostPath
	}
	if !strings.HasPrefix(d.ContainerPath, "/dev/") || path.Clean(d.ContainerPath) != d.ContainerPath {
		return d, fmt.Errorf("container path %q is not a clean path under /dev/", d.ContainerPath)
	}
	return d, nil
}

func validPerms(p string) bool {
	if p == "" || len(p) > 3 {
		return false
	}
	for i, c := range p {
		if !strings.ContainsRune("rwm", c) || strings.ContainsRune(p[:i], c) {
			return false
		}
	}
	return true
}

// parseUnified reads "key=value;key=value". A value that decodes as base64
// to printable text is used decoded (CRI-O's convention for values holding
// ';' or '='), otherwise raw.
func parseUnified(key, v string) (map[string]string, error) {
	out := map[string]string{}
	for _, entry := range strings.Split(v, ";") {
		if entry == "" {
			continue
		}
		k, val, ok := strings.Cut(entry, "=")
		if !ok || k == "" || strings.ContainsAny(k, "/\x00") || k == "." || k == ".." {
			return nil, bad(key, "entry %q is not <cgroup file>=<value>", entry)
		}
		if dec, err := base64.StdEncoding.DecodeString(val); err == nil && printable(dec) {
			val = string(dec)
		}
		out[k] = val
	}
	return out, nil
}

func printable(b []byte) bool {
	if !utf8.Valid(b) {
		return false
	}
	for _, r := range string(b) {
		if !unicode.IsPrint(r) && !unicode.IsSpace(r) {
			return false
		}
	}
	return true
}

// parseQuantity reads a Kubernetes quantity ("64Mi", "1G", "1.5Gi", "1e9")
// as a positive byte count, rounded up.
func parseQuantity(s string) (int64, error) {
	num, mult := s, big.NewRat(1, 1)
	suffixes := []struct {
		s string
		r *big.Rat
	}{
		{"Ki", pow(2, 10)}, {"Mi", pow(2, 20)}, {"Gi", pow(2, 30)}, {"Ti", pow(2, 40)}, {"Pi", pow(2, 50)}, {"Ei", pow(2, 60)},
		{"k", pow(10, 3)}, {"M", pow(10, 6)}, {"G", pow(10, 9)}, {"T", pow(10, 12)}, {"P", pow(10, 15)}, {"E", pow(10, 18)},
		{"m", big.NewRat(1, 1000)}, {"u", big.NewRat(1, 1000000)}, {"n", big.NewRat(1, 1000000000)},
	}
	found := false
	for _, sf := range suffixes {
		if strings.HasSuffix(s, sf.s) {
			num, mult, found = strings.TrimSuffix(s, sf.s), sf.r, true
			break
		}
	}
	if i := strings.IndexAny(num, "eE"); !found && i > 0 {
		exp, err := strconv.Atoi(num[i+1:])
		if err != nil || exp < -30 || exp > 30 {
			return 0, fmt.Errorf("bad exponent in %q", s)
		}
		num = num[:i]
		if exp >= 0 {
			mult = pow(10, exp)
		} else {
			mult = new(big.Rat).Inv(pow(10, -exp))
		}
	}
	if num == "" || strings.Trim(num, "0123456789.") != "" || strings.Count(num, ".") > 1 || num == "." {
		return 0, fmt.Errorf("%q is not a quantity", s)
	}
	r, ok := new(big.Rat).SetString(num)
	if !ok {
		return 0, fmt.Errorf("%q is not a quantity", s)
	}
	r.Mul(r, mult)
	q, rem := new(big.Int).QuoRem(r.Num(), r.Denom(), new(big.Int))
	if rem.Sign() != 0 {
		q.Add(q, big.NewInt(1))
	}
	if q.Sign() <= 0 || !q.IsInt64() {
		return 0, fmt.Errorf("%q is out of range", s)
	}
	return q.Int64(), nil
}

func pow(base, exp int) *big.Rat {
	return new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(int64(base)), big.NewInt(int64(exp)), nil))
}

func podResources(ann map[string]string, name string) (*runtimeapi.LinuxContainerResources, error) {
	v, k, ok := lookup(ann, name, "")
	if !ok {
		return nil, nil
	}
	r := &runtimeapi.LinuxContainerResources{}
	if err := json.Unmarshal([]byte(v), r); err != nil {
		return nil, &Error{Annotation: k, Msg: "not CRI LinuxContainerResources JSON", Err: err}
	}
	return r, nil
}

// Defaults and limits of workload CPU settings, as CRI-O uses them.
const (
	defaultCPUPeriod = 100000 // µs
	minCPUQuota      = 1000   // µs
)

// workloadResources merges the "<prefix>/<container>" JSON override over
// the workload's defaults; cpulimit (millicores) becomes the quota.
func workloadResources(w *config.Workload, ann map[string]string, ctr string) (*Resources, error) {
	def := Resources{}
	if w.Resources != nil {
		def = Resources{CPUShares: w.Resources.CPUShares, CPUQuota: w.Resources.CPUQuota,
			CPUPeriod: w.Resources.CPUPeriod, CPUSet: w.Resources.CPUSet, CPULimit: w.Resources.CPULimit}
	}
	key := w.AnnotationPrefix + "/" + ctr
	v, ok := ann[key]
	if w.AnnotationPrefix == "" || !ok {
		if def == (Resources{}) {
			return nil, nil
		}
		return withLimit(def), nil
	}
	if bytes.Equal(bytes.TrimSpace([]byte(v)), []byte("null")) {
		return nil, nil // CRI-O: an explicit null overrides nothing, defaults included
	}
	var r Resources
	dec := json.NewDecoder(strings.NewReader(v))
	if err := dec.Decode(&r); err != nil {
		return nil, &Error{Annotation: key, Msg: "not a JSON object of cpushares, cpuquota, cpuperiod, cpuset, cpulimit", Err: err}
	}
	if r.CPUSet == "" {
		r.CPUSet = def.CPUSet
	}
	if err := validCPUSet(r.CPUSet); err != nil {
		return nil, &Error{Annotation: key, Msg: fmt.Sprintf("bad cpuset %q", r.CPUSet), Err: err}
	}
	if r.CPUShares == 0 {
		r.CPUShares = def.CPUShares
	}
	if r.CPUQuota == 0 {
		r.CPUQuota = def.CPUQuota
	}
	if r.CPUPeriod == 0 {
		r.CPUPeriod = def.CPUPeriod
	}
	if r.CPULimit == 0 {
		r.CPULimit = def.CPULimit
	}
	if r.CPUPeriod != 0 && r.CPUPeriod < minCPUQuota {
		return nil, bad(key, "cpuperiod %d is below %d microseconds", r.CPUPeriod, minCPUQuota)
	}
	if r.CPULimit < 0 || r.CPUQuota < -1 {
		return nil, bad(key, "negative cpulimit or cpuquota")
	}
	return withLimit(r), nil
}

// withLimit turns a millicore limit into a quota over the period.
func withLimit(r Resources) *Resources {
	if r.CPULimit != 0 {
		period := int64(r.CPUPeriod)
		if period == 0 {
			period = defaultCPUPeriod
		}
		q := int64(math.MaxInt64)
		if r.CPULimit <= math.MaxInt64/period {
			q = r.CPULimit * period / 1000
		}
		r.CPUQuota = max(q, minCPUQuota)
	}
	return &r
}

// validCPUSet checks the cgroup list syntax: "0-3,5,7".
func validCPUSet(s string) error {
	if s == "" {
		return nil
	}
	for _, part := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.ParseUint(lo, 10, 16)
		if err != nil {
			return fmt.Errorf("%q is not a cpu number", lo)
		}
		if isRange {
			b, err := strconv.ParseUint(hi, 10, 16)
			if err != nil || b < a {
				return fmt.Errorf("%q is not a cpu range", part)
			}
		}
	}
	return nil
}
