package observability

import (
	"crypto/tls"
	"fmt"

	"github.com/crio-runtime/crio/internal/metrics"
	"github.com/crio-runtime/crio/internal/streaming"
)

// metricsTLS is the metrics endpoint's TLS config when metrics_cert and
// metrics_key are both set (nil otherwise): as in CRI-O, a self-signed pair
// is written when neither file exists, changed files are reloaded, and
// tls_min_version / tls_cipher_suites apply.
func (o *Observability) metricsTLS() (*tls.Config, error) {
	cfg := o.opts.Config()
	m := cfg.Crio.Metrics
	if m.MetricsCert == "" || m.MetricsKey == "" {
		return nil, nil
	}
	made, err := metrics.EnsureSelfSigned(m.MetricsCert, m.MetricsKey)
	if err != nil {
		return nil, fmt.Errorf("metrics tls: %w", err)
	}
	if made {
		o.opts.Log.Info("metrics key and cert path do not exist: generated a self-signed pair", "cert", m.MetricsCert, "key", m.MetricsKey)
	}
	files := streaming.TLSFiles{Cert: m.MetricsCert, Key: m.MetricsKey}
	files.MinVersion, files.CipherSuites = cfg.TLSSettings()
	tlsCfg, err := streaming.ServerTLSConfig(files, o.opts.Log)
	if err != nil {
		return nil, fmt.Errorf("metrics tls: %w", err)
	}
	return tlsCfg, nil
}
