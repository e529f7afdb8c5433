package spec

import (
	"strings"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// lsm applies AppArmor and SELinux. This is the one seam for both: on a host
// without them (RuntimeOptions.LSM zero) only requests that need no LSM pass.
func (b *builder) lsm() error {
	if err := b.apparmor(); err != nil {
		return err
	}
	return b.selinux()
}

const (
	apparmorRuntimeDefault = "runtime/default"
	apparmorUnconfined     = "unconfined"
	apparmorLocalhost      = "localhost/"
)

func (b *builder) apparmor() error {
	kind, name, field, err := apparmorRequest(b.sc)
	if err != nil {
		return err
	}
	opts := b.in.Runtime.LSM
	if b.privileged() || kind == apparmorUnconfined {
		return nil
	}
	if !opts.AppArmor {
		if kind == apparmorLocalhost {
			return precondition(field, "AppArmor profile %q requested but AppArmor is not enabled on this host", name)
		}
		return nil
	}
	switch kind {
	case apparmorLocalhost:
		b.g.SetProcessApparmorProfile(name)
	default: // unset or RuntimeDefault
		b.g.SetProcessApparmorProfile(opts.AppArmorDefaultProfile)
	}
	return nil
}

// apparmorRequest normalises the SecurityProfile and the deprecated
// apparmor_profile string.
func apparmorRequest(sc *runtimeapi.LinuxContainerSecurityContext) (kind, name, field string, err error) {
	if p := sc.GetApparmor(); p != nil {
		field = scField + "apparmor"
		switch p.GetProfileType() {
		case runtimeapi.SecurityProfile_RuntimeDefault:
			return apparmorRuntimeDefault, "", field, nil
		case runtimeapi.SecurityProfile_Unconfined:
			return apparmorUnconfined, "", field, nil
		case runtimeapi.SecurityProfile_Localhost:
			name = strings.TrimPrefix(p.GetLocalhostRef(), apparmorLocalhost)
			if name == "" {
				return "", "", "", invalid(field+".localhost_ref", "empty profile name")
			}
			return apparmorLocalhost, name, field, nil
		}
		return "", "", "", invalid(field, "unknown profile type %v", p.GetProfileType())
	}
	field = scField + "apparmor_profile"
	switch p := sc.GetApparmorProfile(); {
	case p == "" || p == apparmorRuntimeDefault:
		return apparmorRuntimeDefault, "", field, nil
	case p == apparmorUnconfined:
		return apparmorUnconfined, "", field, nil
	case strings.HasPrefix(p, apparmorLocalhost) && len(p) > len(apparmorLocalhost):
		return apparmorLocalhost, strings.TrimPrefix(p, apparmorLocalhost), field, nil
	default:
		return "", "", "", invalid(field, "%q is not runtime/default, unconfined or localhost/<name>", p)
	}
}

// Default SELinux context parts for containers.
const (
	selinuxUser      = "system_u"
	selinuxRole      = "system_r"
	selinuxType      = "container_t"
	selinuxLevel     = "s0"
	selinuxMountType = "container_file_t"
)

func (b *builder) selinux() error {
	o := b.sc.GetSelinuxOptions()
	requested := o.GetUser() != "" || o.GetRole() != "" || o.GetType() != "" || o.GetLevel() != ""
	if !b.in.Runtime.LSM.SELinux {
		// Kubelets send the pod's seLinuxOptions whatever the node; CRI-O
		// and containerd ignore them when SELinux is off.
		if requested && !b.privileged() {
			b.hostWarn("SELinux options ignored: SELinux is not enabled on this host")
		}
		return nil
	}
	if b.privileged() {
		return nil
	}
	pick := func(v, def string) string {
		if v != "" {
			return v
		}
		return def
	}
	user, role := pick(o.GetUser(), selinuxUser), pick(o.GetRole(), selinuxRole)
	typ, level := pick(o.GetType(), selinuxType), pick(o.GetLevel(), selinuxLevel)
	b.g.SetProcessSelinuxLabel(user + ":" + role + ":" + typ + ":" + level)
	b.g.SetLinuxMountLabel(user + ":object_r:" + selinuxMountType + ":" + level)
	return nil
}
