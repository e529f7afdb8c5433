package streaming

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"syscall"
)

// TLSFiles are the streaming server's certificate, key and optional client
// CA. They are re-read when any of them changes on disk, so rotating the
// certificate needs no restart.
type TLSFiles struct {
	Cert, Key string
	CA        string // when set, clients must present a certificate it signed
	// MinVersion (0: TLS 1.2) and CipherSuites (TLS 1.2 only; nil: Go's)
	// are tls_min_version and tls_cipher_suites.
	MinVersion   uint16
	CipherSuites []uint16
}

// ServerTLSConfig is a server config that serves files and reloads them
// when they change; the metrics endpoint uses it too.
func ServerTLSConfig(files TLSFiles, log *slog.Logger) (*tls.Config, error) {
	r, err := newCertReloader(files, log)
	if err != nil {
		return nil, err
	}
	return r.serverConfig(), nil
}

// certReloader serves the current files: every handshake compares the files'
// inodes, modification times and sizes with those last loaded and reloads on
// change.
// A reload that fails keeps the last good pair.
type certReloader struct {
	files TLSFiles
	log   *slog.Logger

	mu     sync.Mutex
	stamp  string
	cert   *tls.Certificate
	cas    *x509.CertPool
	failed string // stamp of the last failed load, so it is logged once
}

func newCertReloader(files TLSFiles, log *slog.Logger) (*certReloader, error) {
	r := &certReloader{files: files, log: log}
	stamp, err := r.stampNow()
	if err != nil {
		return nil, err
	}
	if err := r.load(stamp); err != nil {
		return nil, err
	}
	return r, nil
}

// serverConfig hands out a fresh per-handshake config, so a changed CA takes
// effect as well as a changed certificate.
func (r *certReloader) serverConfig() *tls.Config {
	minVersion := max(r.files.MinVersion, tls.VersionTLS12)
	return &tls.Config{
		MinVersion:   minVersion,
		CipherSuites: r.files.CipherSuites,
		GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) {
			cert, cas := r.current()
			cfg := &tls.Config{MinVersion: minVersion, CipherSuites: r.files.CipherSuites, Certificates: []tls.Certificate{*cert}}
			if cas != nil {
				cfg.ClientCAs = cas
				cfg.ClientAuth = tls.RequireAndVerifyClientCert
			}
			return cfg, nil
		},
	}
}

func (r *certReloader) current() (*tls.Certificate, *x509.CertPool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if stamp, err := r.stampNow(); err == nil && stamp != r.stamp && stamp != r.failed {
		if err := r.load(stamp); err != nil {
			r.failed = stamp
			r.log.Error("streaming TLS files changed but do not load; keeping the previous ones", "error", err)
		} else {
			r.log.Info("streaming TLS files reloaded", "cert", r.files.Cert)
		}
	}
	return r.cert, r.cas
}

func (r *certReloader) stampNow() (string, error) {
	s := ""
	for _, p := range []string{r.files.Cert, r.files.Key, r.files.CA} {
		if p == "" {
			continue
		}
		fi, err := os.Stat(p)
		if err != nil {
			return "", fmt.Errorf("stream tls file: %w", err)
		}
		var ino uint64
		if st, ok := fi.Sys().(*syscall.Stat_t); ok {
			ino = st.Ino // a rename-into-place rotation shows as a new inode
		}
		s += fmt.Sprintf("%s:%d:%d:%d;", p, ino, fi.ModTime().UnixNano(), fi.Size())
	}
	return s, nil
}

func (r *certReloader) load(stamp string) error {
	cert, err := tls.LoadX509KeyPair(r.files.Cert, r.files.Key)
	if err != nil {
		return fmt.Errorf("load stream tls cert: %w", err)
	}
	var cas *x509.CertPool
	if r.files.CA != "" {
		pem, err := os.ReadFile(r.files.CA)
		if err != nil {
			return fmt.Errorf("read stream tls ca: %w", err)
		}
		cas = x509.NewCertPool()
		if !cas.AppendCertsFromPEM(pem) {
			return errors.New("stream tls ca: no certificate found")
		}
	}
	r.cert, r.cas, r.stamp = &cert, cas, stamp
	return nil
}
