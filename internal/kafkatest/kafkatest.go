// Package kafkatest starts in-process Kafka clusters (kfake) that speak TLS
// and SASL, with a throwaway CA, for the tests of pkg/kafkax and of the
// binaries that connect through it.
package kafkatest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/pinpipe/pinpipe/pkg/kafkax"
)

// CA is a throwaway certificate authority.
type CA struct {
	File string // its certificate, PEM
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

// NewCA makes a CA and writes its certificate to a file of t.TempDir.
func NewCA(t testing.TB, name string) *CA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), name+".pem")
	writePEM(t, file, "CERTIFICATE", der)
	return &CA{File: file, cert: cert, key: key}
}

// Pool returns a pool that trusts ca alone.
func (ca *CA) Pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.cert)
	return p
}

// Issue makes a certificate for the names (DNS names or IP addresses)
// signed by ca, usable by servers and clients; it writes the certificate and
// its key to files of t.TempDir too.
func (ca *CA) Issue(t testing.TB, names ...string) (cert tls.Certificate, certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: names[0]},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	for _, n := range names {
		if ip := net.ParseIP(n); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, n)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	writePEM(t, certFile, "CERTIFICATE", der)
	writePEM(t, keyFile, "EC PRIVATE KEY", keyDER)
	cert, err = tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	return cert, certFile, keyFile
}

func writePEM(t testing.TB, file, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(file, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

// Secured are the secured clusters pinpipe can connect to (all but
// AWS_MSK_IAM, which kfake has not): TLS, mutual TLS, each SASL mechanism,
// and TLS with SCRAM.
var Secured = []Cluster{
	{TLS: true},
	{TLS: true, ClientCert: true},
	{SASL: kafkax.PLAIN},
	{SASL: kafkax.SCRAMSHA256},
	{SASL: kafkax.SCRAMSHA512},
	{TLS: true, SASL: kafkax.SCRAMSHA512},
}

// Cluster says what a test cluster requires of its clients.
type Cluster struct {
	TLS        bool   // listen with TLS, a certificate for 127.0.0.1 and localhost
	ClientCert bool   // with TLS: require a client certificate of the cluster's CA
	SASL       string // "", PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512
	Username   string // Default: "alice"
	Password   string // Default: "alice-secret"
	Topics     []string
	Partitions int32 // of each topic; Default: 3
}

// Start starts the cluster (closed by t.Cleanup) and returns its brokers
// and the client configuration that connects to it: TLS trusting the
// cluster's CA (and a client certificate when required), SASL with the user.
// The cluster's CA is in Config.CAFile.
func Start(t testing.TB, c Cluster) ([]string, kafkax.Config) {
	t.Helper()
	if c.Username == "" {
		c.Username = "alice"
	}
	if c.Password == "" {
		c.Password = "alice-secret"
	}
	if c.Partitions == 0 {
		c.Partitions = 3
	}
	opts := []kfake.Opt{kfake.NumBrokers(1)}
	if len(c.Topics) > 0 {
		opts = append(opts, kfake.SeedTopics(c.Partitions, c.Topics...))
	}
	var client kafkax.Config
	if c.TLS {
		ca := NewCA(t, "kafkatest-ca")
		serverCert, _, _ := ca.Issue(t, "127.0.0.1", "localhost")
		tc := &tls.Config{Certificates: []tls.Certificate{serverCert}, MinVersion: tls.VersionTLS12}
		client.TLS, client.CAFile = true, ca.File
		if c.ClientCert {
			tc.ClientCAs, tc.ClientAuth = ca.Pool(), tls.RequireAndVerifyClientCert
			_, client.CertFile, client.KeyFile = ca.Issue(t, "kafkatest-client")
		}
		opts = append(opts, kfake.TLS(tc))
	}
	if c.SASL != "" {
		opts = append(opts, kfake.EnableSASL(), kfake.Superuser(c.SASL, c.Username, c.Password))
		client.SASL, client.Username, client.Password = c.SASL, c.Username, c.Password
	}
	cl, err := kfake.NewCluster(opts...)
	if err != nil {
		t.Fatalf("starting kfake: %v", err)
	}
	t.Cleanup(cl.Close)
	return cl.ListenAddrs(), client
}
