// Package spec turns a CRI CreateContainerRequest into an OCI runtime spec.
//
// It is a pure package: Build reads nothing from the machine. Everything it
// needs comes in through Input: the CRI container and pod configs, the pinned
// pod namespaces and files (Sandbox), the image config (ImageConfig), the
// runtime configuration (RuntimeOptions), the image's /etc/passwd and
// /etc/group as io.Readers, and a small Host seam for the three host reads a
// spec needs (a localhost seccomp profile, host symlink resolution, device
// nodes). Package hostos provides the real Host; tests use a fake.
//
//	res, err := spec.Build(spec.Input{...})
//	// res.Spec           the OCI spec (write it as config.json)
//	// res.User           resolved uid/gid/groups for ContainerStatus.User
//	// res.VolumeDirs     directories the caller must create (image volumes)
//	// res.Propagation    host paths whose mount must be made shared/slave
//	// res.StopSignal     signal to stop the container with
//	// res.Warnings       things adjusted rather than refused (clamped oom_score_adj, ...)
//
// Errors for bad input are *InvalidError (errdefs.ErrInvalidArgument) or
// *FailedPreconditionError (errdefs.ErrFailedPrecondition); both name the
// offending field, and server maps their kind to the gRPC code.
//
// The rules, in the order Build applies them:
//
//   - Process: CRI command replaces the image Entrypoint and drops its Cmd;
//     CRI args alone replace Cmd. Env is the image env overlaid by the runtime
//     default_env and then the CRI envs (order kept, last wins); PATH, HOME and
//     HOSTNAME are filled in when missing. Cwd is the CRI working dir, else the
//     image's, else "/". Terminal follows tty; default_ulimits become rlimits.
//   - User: run_as_username / run_as_user / run_as_group / image USER, resolved
//     through the image's passwd and group files; supplemental groups follow
//     SupplementalGroupsPolicy (Merge adds the image's /etc/group membership).
//   - Capabilities: default set (DefaultCapabilities unless configured), then
//     add ALL, drop ALL, individual adds, individual drops; names arrive
//     without CAP_. Inheritable is empty; ambient only for non-root.
//     Privileged: every capability the runtime can grant (HostCapabilities).
//   - Seccomp: RuntimeDefault uses DefaultSeccompProfile (Go data); Localhost
//     reads an absolute path through Host; Unconfined sets none; an empty
//     request follows SeccompUseDefaultWhenEmpty. Profiles are validated with
//     libseccomp.
//   - AppArmor/SELinux: one seam (RuntimeOptions.LSM). On hosts without them a
//     Localhost AppArmor profile or an SELinux label is a FailedPrecondition.
//   - Filesystem: default mounts, masked and read-only paths, the pod's
//     hostname/hosts/resolv.conf/shm, CRI mounts (ro, rro, propagation,
//     symlinks resolved), image volumes (mkdir|bind|ignore), devices.
//   - Namespaces and cgroups: pod net/ipc/uts joined by path, pid per
//     NamespaceMode, new mount ns, cgroup ns on v2, cgroups path per driver,
//     resources, oom_score_adj clamped to MinOOMScoreAdj, sysctls.
//
// Pod-level sysctls and default_sysctls are written into every container's
// spec: containers share the pod's namespaces, so runc applying them again is
// idempotent, and it keeps the sandbox free of a pause process.
// default_sysctls may contain PingGroupRangeSysctl so that ping works without
// NET_RAW; it is off by default.
package spec
