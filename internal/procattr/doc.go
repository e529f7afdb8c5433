// Package procattr parses the process attributes the configuration and the
// OCI spec both name: capabilities and resource limits. Startup validation
// (pkg/config) and the spec builder (internal/spec) call the same functions,
// so a value the daemon accepts at start is one the spec accepts, and the
// other way round.
package procattr
