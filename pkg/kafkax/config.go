// Package kafkax is the one home of how pinpipe connects to Kafka: TLS (system
// roots or a CA file, an optional client certificate, a server name), SASL
// PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 and AWS_MSK_IAM (credentials from the
// standard AWS configuration), their flags and environment variables, the
// kafka-go dialers and transports made from them, and the explanation of a
// failed handshake or login.
//
// Every Kafka connection of emit and s3sink (producer, consumer group,
// partition readers, metadata and offset requests) is made with a Dialer or a
// Transport of one Config.
package kafkax

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"

	"github.com/pinpipe/pinpipe/internal/cli"
)

// The environment variables that give the flags' defaults.
const (
	EnvTLS                = "PINPIPE_KAFKA_TLS"                  // default of --kafka-tls (true or false)
	EnvCAFile             = "PINPIPE_KAFKA_CA_FILE"              // default of --kafka-ca-file: PEM CA certificates trusted for the brokers
	EnvCertFile           = "PINPIPE_KAFKA_CERT_FILE"            // default of --kafka-cert-file: PEM client certificate (mutual TLS)
	EnvKeyFile            = "PINPIPE_KAFKA_KEY_FILE"             // default of --kafka-key-file: PEM private key of the client certificate
	EnvServerName         = "PINPIPE_KAFKA_SERVER_NAME"          // default of --kafka-server-name: the name the brokers' certificates must carry
	EnvInsecureSkipVerify = "PINPIPE_KAFKA_INSECURE_SKIP_VERIFY" // default of --kafka-insecure-skip-verify (true or false; tests only)
	EnvSASL               = "PINPIPE_KAFKA_SASL"                 // default of --kafka-sasl: PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 or AWS_MSK_IAM
	EnvUsername           = "PINPIPE_KAFKA_USERNAME"             // default of --kafka-username (SASL PLAIN and SCRAM)
	EnvPassword           = "PINPIPE_KAFKA_PASSWORD"             // the SASL PLAIN/SCRAM password; better than --kafka-password, which other users of the machine can see
	EnvAWSRegion          = "PINPIPE_KAFKA_AWS_REGION"           // default of --kafka-aws-region: the MSK cluster's region for AWS_MSK_IAM (else the standard AWS configuration's)
)

// The SASL mechanisms of Config.SASL.
const (
	PLAIN       = "PLAIN"
	SCRAMSHA256 = "SCRAM-SHA-256"
	SCRAMSHA512 = "SCRAM-SHA-512"
	AWSMSKIAM   = "AWS_MSK_IAM"
)

// Mechanisms are the accepted values of Config.SASL besides "" (none).
var Mechanisms = []string{PLAIN, SCRAMSHA256, SCRAMSHA512, AWSMSKIAM}

// Config says how to connect to the brokers. The zero Config is plaintext
// without SASL (the local stack).
type Config struct {
	// TLS turns TLS on. CAFile, CertFile, KeyFile, ServerName and
	// InsecureSkipVerify turn it on too. Default: false.
	TLS bool
	// CAFile holds the PEM certificates of the CAs trusted for the brokers.
	// Default: the system roots.
	CAFile string
	// CertFile and KeyFile are a PEM client certificate and its key, for
	// brokers that require mutual TLS. Default: none.
	CertFile, KeyFile string
	// ServerName is the name the brokers' certificates must be valid for.
	// Default: the host of the address dialed.
	ServerName string
	// InsecureSkipVerify accepts any broker certificate. Tests only.
	InsecureSkipVerify bool
	// SASL is the mechanism: "" (none), "PLAIN", "SCRAM-SHA-256",
	// "SCRAM-SHA-512" or "AWS_MSK_IAM" (case does not matter).
	SASL string
	// Username and Password of SASL PLAIN and SCRAM.
	Username, Password string
	// AWSRegion is the MSK cluster's region, for AWS_MSK_IAM. Default: the
	// standard AWS configuration's (AWS_REGION, the profile's).
	AWSRegion string

	envErr error // a boolean environment variable that is not a boolean
}

// RegisterFlags defines the --kafka-* flags on fs, bound to c, with their
// defaults from the PINPIPE_KAFKA_* environment variables.
func (c *Config) RegisterFlags(fs *flag.FlagSet) { c.RegisterFlagsEnv(fs, os.Getenv) }

// RegisterFlagsEnv is RegisterFlags with the environment looked up by getenv
// (nil: no variable is set).
func (c *Config) RegisterFlagsEnv(fs *flag.FlagSet, getenv func(string) string) {
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	var errs []error
	boolEnv := func(name, v string) bool {
		if v == "" {
			return false
		}
		b, err := strconv.ParseBool(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s=%q: want true or false", name, v))
		}
		return b
	}
	fs.BoolVar(&c.TLS, "kafka-tls", boolEnv(EnvTLS, getenv(EnvTLS)), "connect to the Kafka brokers over TLS; the other --kafka-*-file, --kafka-server-name and --kafka-insecure-skip-verify flags imply it (env "+EnvTLS+")")
	fs.StringVar(&c.CAFile, "kafka-ca-file", getenv(EnvCAFile), "PEM file of the CA certificates trusted for the Kafka brokers (default: the system roots) (env "+EnvCAFile+")")
	fs.StringVar(&c.CertFile, "kafka-cert-file", getenv(EnvCertFile), "PEM client certificate for Kafka brokers that require mutual TLS; needs --kafka-key-file (env "+EnvCertFile+")")
	fs.StringVar(&c.KeyFile, "kafka-key-file", getenv(EnvKeyFile), "PEM private key of --kafka-cert-file (env "+EnvKeyFile+")")
	fs.StringVar(&c.ServerName, "kafka-server-name", getenv(EnvServerName), "name the Kafka brokers' certificates must be valid for (default: the host dialed) (env "+EnvServerName+")")
	fs.BoolVar(&c.InsecureSkipVerify, "kafka-insecure-skip-verify", boolEnv(EnvInsecureSkipVerify, getenv(EnvInsecureSkipVerify)), "accept any Kafka broker certificate (tests only) (env "+EnvInsecureSkipVerify+")")
	fs.StringVar(&c.SASL, "kafka-sasl", getenv(EnvSASL), "Kafka SASL mechanism: PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 or AWS_MSK_IAM (credentials from the standard AWS configuration); empty: none (env "+EnvSASL+")")
	fs.StringVar(&c.Username, "kafka-username", getenv(EnvUsername), "Kafka SASL PLAIN/SCRAM user name (env "+EnvUsername+")")
	c.Password = getenv(EnvPassword)
	cli.SecretFlag(fs, &c.Password, "kafka-password", "Kafka SASL PLAIN/SCRAM password, a `string`; prefer the environment variable "+EnvPassword+": a command line is visible to other users of the machine")
	fs.StringVar(&c.AWSRegion, "kafka-aws-region", getenv(EnvAWSRegion), "region of the MSK cluster for AWS_MSK_IAM (default: the standard AWS configuration's, AWS_REGION) (env "+EnvAWSRegion+")")
	c.envErr = errors.Join(errs...)
}

// CheckBrokers reports an empty list of bootstrap brokers, or one that is
// not host:port.
func CheckBrokers(brokers []string) error {
	if len(brokers) == 0 {
		return errors.New("kafka: no broker")
	}
	for _, b := range brokers {
		if _, _, err := net.SplitHostPort(b); err != nil {
			return fmt.Errorf("kafka broker %q: want host:port", b)
		}
	}
	return nil
}

// TLSOn reports whether the connections use TLS.
func (c Config) TLSOn() bool {
	return c.TLS || c.CAFile != "" || c.CertFile != "" || c.KeyFile != "" || c.ServerName != "" || c.InsecureSkipVerify
}

// Mechanism returns the SASL mechanism in its canonical spelling ("" for
// none), or an error naming the accepted ones.
func (c Config) Mechanism() (string, error) {
	if c.SASL == "" {
		return "", nil
	}
	m := strings.ToUpper(strings.TrimSpace(c.SASL))
	switch m {
	case PLAIN, SCRAMSHA256, SCRAMSHA512, AWSMSKIAM:
		return m, nil
	}
	return "", fmt.Errorf("--kafka-sasl %q: want one of %s (or empty for none)", c.SASL, strings.Join(Mechanisms, ", "))
}

// Validate reports a bad configuration: an unknown mechanism, credentials
// missing or not used by the mechanism, a certificate without its key, a CA
// file that cannot be read or holds no PEM certificate. It reads the TLS
// files (TLSConfig).
func (c Config) Validate() error {
	if err := c.check(); err != nil {
		return err
	}
	_, err := c.TLSConfig()
	return err
}

// check is Validate without I/O: all but the TLS files.
func (c Config) check() error {
	if c.envErr != nil {
		return c.envErr
	}
	m, err := c.Mechanism()
	if err != nil {
		return err
	}
	switch m {
	case PLAIN, SCRAMSHA256, SCRAMSHA512:
		if c.Username == "" {
			return fmt.Errorf("--kafka-sasl %s needs a user name: --kafka-username or %s", m, EnvUsername)
		}
		if c.Password == "" {
			return fmt.Errorf("--kafka-sasl %s needs a password: %s (or --kafka-password)", m, EnvPassword)
		}
	case AWSMSKIAM:
		if c.Username != "" || c.Password != "" {
			return fmt.Errorf("--kafka-sasl %s takes no --kafka-username/--kafka-password: its credentials come from the standard AWS configuration", m)
		}
		if !c.TLSOn() {
			return fmt.Errorf("--kafka-sasl %s needs --kafka-tls (MSK's IAM listener, port 9098, is TLS only)", m)
		}
	case "":
		if c.Username != "" || c.Password != "" {
			return errors.New("--kafka-username/--kafka-password given without --kafka-sasl (PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512)")
		}
	}
	return nil
}

// TLSConfig returns the TLS configuration of the connections, or nil when
// TLS is off. It reads the CA and certificate files.
func (c Config) TLSConfig() (*tls.Config, error) {
	if !c.TLSOn() {
		return nil, nil
	}
	if (c.CertFile == "") != (c.KeyFile == "") {
		return nil, errors.New("--kafka-cert-file and --kafka-key-file go together: give both or neither")
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: c.ServerName, InsecureSkipVerify: c.InsecureSkipVerify}
	if c.CAFile != "" {
		pem, err := os.ReadFile(c.CAFile)
		if err != nil {
			return nil, fmt.Errorf("--kafka-ca-file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--kafka-ca-file %s: no PEM certificate in it (want -----BEGIN CERTIFICATE----- blocks)", c.CAFile)
		}
		tc.RootCAs = pool
	}
	if c.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(c.CertFile, c.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("--kafka-cert-file %s, --kafka-key-file %s: %w", c.CertFile, c.KeyFile, err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}

// String describes the security of the connections for logs, without
// secrets: "plaintext", "TLS", "TLS+SCRAM-SHA-512 as alice".
func (c Config) String() string {
	s := "plaintext"
	if c.TLSOn() {
		s = "TLS"
	}
	m, err := c.Mechanism()
	switch {
	case err != nil:
		m = c.SASL + "(invalid)"
	case m == "":
		return s
	}
	if s == "plaintext" {
		s = "SASL_PLAINTEXT " + m
	} else {
		s += "+" + m
	}
	if c.Username != "" {
		s += " as " + c.Username
	}
	return s
}
