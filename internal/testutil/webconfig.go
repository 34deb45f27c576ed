package testutil

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// WebConfig is a web configuration file in the exporter-toolkit format
// (--web.config.file) with a certificate for 127.0.0.1 and localhost, and
// what a client needs to talk to a server that uses it.
type WebConfig struct {
	// File is the web configuration file; the certificate and key are
	// beside it.
	File string
	// CAFile is the certificate a client trusts (it signed itself).
	CAFile string
}

// WriteWebConfig writes, in a new temporary folder, a web configuration
// that serves TLS and, when users is not empty, asks for basic auth with
// those users and passwords (stored as bcrypt hashes).
func WriteWebConfig(t testing.TB, users map[string]string) WebConfig {
	t.Helper()
	dir := t.TempDir()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "isoagent test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	cert := filepath.Join(dir, "agent.crt")
	write(t, cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	write(t, filepath.Join(dir, "agent.key"), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}))

	var b strings.Builder
	b.WriteString("tls_server_config:\n  cert_file: agent.crt\n  key_file: agent.key\n")
	if len(users) > 0 {
		b.WriteString("basic_auth_users:\n")
		for u, p := range users {
			h, err := bcrypt.GenerateFromPassword([]byte(p), bcrypt.MinCost)
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(&b, "  %q: %q\n", u, h)
		}
	}
	file := filepath.Join(dir, "web.yml")
	write(t, file, []byte(b.String()))
	return WebConfig{File: file, CAFile: cert}
}

func write(t testing.TB, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}
