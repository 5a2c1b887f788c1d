package kafkax_test

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pinpipe/pinpipe/internal/kafkatest"
	"github.com/pinpipe/pinpipe/pkg/kafkax"
)

func TestValidate(t *testing.T) {
	ca := kafkatest.NewCA(t, "ca")
	_, certFile, keyFile := ca.Issue(t, "client")
	notPEM := filepath.Join(t.TempDir(), "ca.txt")
	if err := os.WriteFile(notPEM, []byte("not a certificate\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		c    kafkax.Config
		want string // "" for valid
	}{
		{"plaintext", kafkax.Config{}, ""},
		{"TLS system roots", kafkax.Config{TLS: true}, ""},
		{"TLS CA and client certificate", kafkax.Config{CAFile: ca.File, CertFile: certFile, KeyFile: keyFile}, ""},
		{"PLAIN", kafkax.Config{SASL: "PLAIN", Username: "u", Password: "p"}, ""},
		{"scram lower case", kafkax.Config{SASL: "scram-sha-512", Username: "u", Password: "p"}, ""},
		{"IAM over TLS", kafkax.Config{TLS: true, SASL: "AWS_MSK_IAM"}, ""},
		{"unknown mechanism", kafkax.Config{SASL: "GSSAPI"}, `--kafka-sasl "GSSAPI": want one of PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, AWS_MSK_IAM`},
		{"SCRAM without user", kafkax.Config{SASL: "SCRAM-SHA-256", Password: "p"}, "SCRAM-SHA-256 needs a user name: --kafka-username or PINPIPE_KAFKA_USERNAME"},
		{"PLAIN without password", kafkax.Config{SASL: "PLAIN", Username: "u"}, "PLAIN needs a password: PINPIPE_KAFKA_PASSWORD"},
		{"IAM with a password", kafkax.Config{TLS: true, SASL: "AWS_MSK_IAM", Username: "u", Password: "p"}, "takes no --kafka-username/--kafka-password"},
		{"IAM without TLS", kafkax.Config{SASL: "AWS_MSK_IAM"}, "AWS_MSK_IAM needs --kafka-tls"},
		{"user without SASL", kafkax.Config{Username: "u"}, "without --kafka-sasl"},
		{"certificate without key", kafkax.Config{CertFile: certFile}, "--kafka-cert-file and --kafka-key-file go together"},
		{"key without certificate", kafkax.Config{KeyFile: keyFile}, "--kafka-cert-file and --kafka-key-file go together"},
		{"CA file missing", kafkax.Config{CAFile: filepath.Join(t.TempDir(), "missing.pem")}, "--kafka-ca-file: open "},
		{"CA file not PEM", kafkax.Config{CAFile: notPEM}, "--kafka-ca-file " + notPEM + ": no PEM certificate in it"},
		{"key of another certificate", kafkax.Config{CertFile: certFile, KeyFile: ca.File}, "--kafka-cert-file " + certFile},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.c.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("Validate() = %v, want nil", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("Validate() = %v, want an error saying %q", err, tc.want)
			}
			if tc.want != "" {
				if _, derr := tc.c.Dialer(0); derr == nil {
					t.Error("Dialer of an invalid configuration succeeded")
				}
				if _, terr := tc.c.Transport(); terr == nil {
					t.Error("Transport of an invalid configuration succeeded")
				}
			}
		})
	}
}

func TestFlags(t *testing.T) {
	env := map[string]string{
		kafkax.EnvTLS:      "true",
		kafkax.EnvCAFile:   "/etc/ca.pem",
		kafkax.EnvSASL:     "SCRAM-SHA-512",
		kafkax.EnvUsername: "alice",
		kafkax.EnvPassword: "env-secret",
	}
	var c kafkax.Config
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	c.RegisterFlagsEnv(fs, func(k string) string { return env[k] })
	var help bytes.Buffer
	fs.SetOutput(&help)
	fs.PrintDefaults()
	if strings.Contains(help.String(), "env-secret") {
		t.Errorf("--help shows the password from the environment:\n%s", help.String())
	}
	for _, name := range []string{"kafka-tls", "kafka-ca-file", "kafka-cert-file", "kafka-key-file", "kafka-server-name",
		"kafka-insecure-skip-verify", "kafka-sasl", "kafka-username", "kafka-password", "kafka-aws-region"} {
		if fs.Lookup(name) == nil {
			t.Errorf("no --%s", name)
		}
	}
	if err := fs.Parse([]string{"--kafka-username", "bob"}); err != nil {
		t.Fatal(err)
	}
	want := kafkax.Config{TLS: true, CAFile: "/etc/ca.pem", SASL: "SCRAM-SHA-512", Username: "bob", Password: "env-secret"}
	if c != want {
		t.Errorf("config = %+v, want %+v", c, want)
	}
	if err := fs.Parse([]string{"--kafka-password", "flag-secret"}); err != nil || c.Password != "flag-secret" {
		t.Errorf("--kafka-password: password %q, err %v", c.Password, err)
	}
	if s := c.String(); s != "TLS+SCRAM-SHA-512 as bob" || strings.Contains(s, "secret") {
		t.Errorf("String() = %q", s)
	}

	var bad kafkax.Config
	bad.RegisterFlagsEnv(flag.NewFlagSet("t", flag.ContinueOnError), func(k string) string {
		return map[string]string{kafkax.EnvTLS: "yes please"}[k]
	})
	if err := bad.Validate(); err == nil || !strings.Contains(err.Error(), `PINPIPE_KAFKA_TLS="yes please": want true or false`) {
		t.Errorf("Validate with a bad boolean variable = %v", err)
	}
}

func TestCheckBrokers(t *testing.T) {
	if err := kafkax.CheckBrokers([]string{"a:9092", "127.0.0.1:1"}); err != nil {
		t.Errorf("good brokers: %v", err)
	}
	for _, bad := range [][]string{nil, {"a:9092", "b"}} {
		if err := kafkax.CheckBrokers(bad); err == nil {
			t.Errorf("CheckBrokers(%q) = nil, want an error", bad)
		}
	}
}
