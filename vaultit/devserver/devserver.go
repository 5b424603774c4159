// Package devserver starts the throwaway Vault that vaultit's tests and
// cmd/devvault use: one core of Vault's in-process test cluster (v1.13.0,
// the last MPL-2.0 release), in memory, unsealed, on loopback with TLS,
// with Transit at transit/, KV v2 at kv2/ and AppRole at approle/ — the
// mounts gmfield's CLI and docs/keys.md assume.
//
// It is for tests and trying gmfield only: its storage is memory, its
// root token is handed to whoever starts it, and its CA key sits next to
// the CA certificate in its directory.
package devserver

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"net"
	"os"
	"time"

	"github.com/hashicorp/go-hclog"
	kv "github.com/hashicorp/vault-plugin-secrets-kv"
	"github.com/hashicorp/vault/api"
	credapprole "github.com/hashicorp/vault/builtin/credential/approle"
	"github.com/hashicorp/vault/builtin/logical/transit"
	vaulthttp "github.com/hashicorp/vault/http"
	"github.com/hashicorp/vault/sdk/logical"
	"github.com/hashicorp/vault/vault"
	"github.com/mitchellh/go-testing-interface"
)

// The mounts of the server.
const (
	TransitMount = "transit"
	KVMount      = "kv2"
	AppRoleMount = "approle"
)

// readyTimeout bounds the wait for KV v2's background storage upgrade.
const readyTimeout = 10 * time.Second

// Options configure Start.
type Options struct {
	// Dir receives the test cluster's files: the CA certificate
	// (ca_cert.pem), the CA and node keys, the unseal keys and the root
	// token. It must not exist or be empty; Start makes it mode 0700 and
	// Close removes it. "" makes a new temporary directory.
	Dir string
	// Port is the loopback port to listen on; 0 picks a free one.
	Port int
	// Logger receives Vault's log; nil is the test cluster's own (every
	// level, to stderr).
	Logger hclog.Logger
}

// Server is a running throwaway Vault.
type Server struct {
	// Cluster is the test cluster, for tests that seal or unseal it.
	Cluster *vault.TestCluster
	// Client talks to the server with the root token.
	Client *api.Client
}

// Addr is the server's address (https://127.0.0.1:PORT), for VAULT_ADDR.
func (s *Server) Addr() string { return s.Client.Address() }

// Token is the root token, for VAULT_TOKEN.
func (s *Server) Token() string { return s.Cluster.RootToken }

// CACert is the CA certificate's file, for VAULT_CACERT.
func (s *Server) CACert() string { return s.Cluster.CACertPEMFile }

// Dir is the server's directory, removed by Close.
func (s *Server) Dir() string { return s.Cluster.TempDir }

// Close stops the server and removes its directory.
func (s *Server) Close() { s.Cluster.Cleanup() }

// Start runs the server. The test cluster reports a failure to start
// through t (a *testing.T in tests; a RuntimeT panics); Start returns the
// errors of setting up the mounts, after stopping the server.
func Start(t testing.T, opts Options) (*Server, error) {
	if opts.Dir != "" {
		if err := usableDir(opts.Dir); err != nil {
			return nil, err
		}
		if err := os.MkdirAll(opts.Dir, 0o700); err != nil {
			return nil, err
		}
		if err := os.Chmod(opts.Dir, 0o700); err != nil {
			return nil, err
		}
	}
	if opts.Port < 0 || opts.Port > 65535 {
		return nil, fmt.Errorf("port %d: out of range", opts.Port)
	}
	caCert, caKey, err := newCA()
	if err != nil {
		return nil, err
	}
	copts := &vault.TestClusterOptions{
		HandlerFunc: vaulthttp.Handler,
		NumCores:    1,
		TempDir:     opts.Dir,
		Logger:      opts.Logger,
		CACert:      caCert,
		CAKey:       caKey,
	}
	if opts.Port != 0 {
		copts.BaseListenAddress = fmt.Sprintf("127.0.0.1:%d", opts.Port)
	}
	cluster := vault.NewTestCluster(t, &vault.CoreConfig{
		LogicalBackends:    map[string]logical.Factory{"transit": transit.Factory, "kv": kv.Factory},
		CredentialBackends: map[string]logical.Factory{"approle": credapprole.Factory},
		Logger:             opts.Logger,
	}, copts)
	cluster.Start()
	s := &Server{Cluster: cluster, Client: cluster.Cores[0].Client}
	if err := s.mount(); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// newCA makes the server's CA. The test cluster's own CA has the subject
// of the server's certificate (CN=localhost), which OpenSSL then takes for
// a self-signed certificate: curl refuses it even with --cacert.
func newCA() ([]byte, *ecdsa.PrivateKey, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		Subject:               pkix.Name{CommonName: "gmfield devserver CA"},
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.IPv6loopback, net.IPv4(127, 0, 0, 1)},
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		SerialNumber:          serial,
		NotBefore:             time.Now().Add(-30 * time.Second),
		NotAfter:              time.Now().Add(30 * 24 * time.Hour),
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, nil, err
	}
	return der, key, nil
}

// usableDir refuses a directory that holds anything: Close removes it
// with all it contains.
func usableDir(dir string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if len(entries) > 0 {
		return fmt.Errorf("%s is not empty (it is removed when the server stops): give a new or empty directory", dir)
	}
	return nil
}

func (s *Server) mount() error {
	sys := s.Client.Sys()
	if err := sys.Mount(TransitMount, &api.MountInput{Type: "transit"}); err != nil {
		return fmt.Errorf("mount transit: %w", err)
	}
	if err := sys.Mount(KVMount, &api.MountInput{Type: "kv", Options: map[string]string{"version": "2"}}); err != nil {
		return fmt.Errorf("mount kv v2: %w", err)
	}
	if err := sys.EnableAuthWithOptions(AppRoleMount, &api.EnableAuthOptions{Type: "approle"}); err != nil {
		return fmt.Errorf("enable approle: %w", err)
	}
	// KV v2 upgrades its storage in the background after mounting, and
	// refuses writes until it is done.
	ctx := context.Background()
	kv2 := s.Client.KVv2(KVMount)
	deadline := time.Now().Add(readyTimeout)
	for {
		_, err := kv2.Put(ctx, "devserver-probe", map[string]any{"ready": true})
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("kv v2 at %s/ not ready after %v: %w", KVMount, readyTimeout, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := kv2.DeleteMetadata(ctx, "devserver-probe"); err != nil {
		return fmt.Errorf("kv v2: remove the probe: %w", err)
	}
	return nil
}
