package kafkax

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"syscall"

	"github.com/segmentio/kafka-go"
)

// The kinds of connection failure Explain recognises; errors.Is(err, ErrX)
// tells them apart.
var (
	// ErrLogin is a SASL login the broker refused, or a mechanism it does
	// not enable: retrying with the same configuration cannot succeed.
	ErrLogin = errors.New("kafka SASL login failed")
	// ErrTLS is a failed TLS handshake: a certificate not trusted or not
	// valid for the name, a broker that does not speak TLS on the port, or
	// one that wants a client certificate.
	ErrTLS = errors.New("kafka TLS handshake failed")
	// ErrClosed is a broker that closed the connection before answering,
	// or did not answer a TLS handshake: a broker restarting or out of
	// reach, or one that wants TLS or SASL from a client that does not offer
	// them, or plaintext from one that does.
	ErrClosed = errors.New("kafka broker closed the connection")
)

// ConnError is a connection failure explained: what failed at which broker,
// and what to check.
type ConnError struct {
	Broker string // the broker address(es) dialed
	Kind   error  // ErrLogin, ErrTLS or ErrClosed
	What   string // "SASL SCRAM-SHA-512 login failed", ...
	Check  string // what to check
	Err    error  // the error of kafka-go
}

func (e *ConnError) Error() string {
	return fmt.Sprintf("kafka broker %s: %s: %v; %s", e.Broker, e.What, e.Err, e.Check)
}

// Unwrap returns the kind and the underlying error.
func (e *ConnError) Unwrap() []error { return []error{e.Kind, e.Err} }

// IsConfigError reports whether err is a failure that retrying with the same
// configuration cannot mend: a refused SASL login or a failed TLS handshake.
func IsConfigError(err error) bool {
	return errors.Is(err, ErrLogin) || errors.Is(err, ErrTLS)
}

// Explain turns a failed handshake, login or a connection the broker closed
// into a *ConnError naming broker, the mechanism and what to check; other
// errors are returned wrapped with the broker, nil as nil. An error
// explained already is returned as it is.
func (c Config) Explain(broker string, err error) error {
	if err == nil {
		return nil
	}
	var ce *ConnError
	if errors.As(err, &ce) {
		return err
	}
	mech, _ := c.Mechanism()
	e := &ConnError{Broker: broker, Err: err}
	var (
		recordErr tls.RecordHeaderError
		unknownCA x509.UnknownAuthorityError
		hostErr   x509.HostnameError
		invalid   x509.CertificateInvalidError
		verifyErr *tls.CertificateVerificationError
	)
	switch {
	case errors.Is(err, kafka.SASLAuthenticationFailed):
		e.Kind, e.What = ErrLogin, "SASL "+mech+" login failed"
		e.Check = c.checkCredentials(mech)
	case errors.Is(err, kafka.UnsupportedSASLMechanism):
		e.Kind, e.What = ErrLogin, "SASL mechanism "+mech+" not enabled"
		e.Check = "check --kafka-sasl and that the broker's listener on this port enables " + mech + " (MSK: SCRAM on 9096, IAM on 9098)"
	case errors.Is(err, kafka.IllegalSASLState):
		e.Kind, e.What = ErrLogin, "SASL "+mech+" exchange refused"
		e.Check = "check --kafka-sasl against the broker's listener"
	case errors.As(err, &recordErr):
		e.Kind, e.What = ErrTLS, "TLS handshake failed, the broker does not speak TLS on this port"
		e.Check = "drop --kafka-tls, or use the broker's TLS port (MSK: 9094 TLS, 9096 SCRAM, 9098 IAM; 9092 is plaintext)"
	case errors.As(err, &unknownCA) || errors.As(err, &verifyErr) && errors.As(verifyErr.Err, &unknownCA):
		e.Kind, e.What = ErrTLS, "TLS certificate not trusted"
		e.Check = "check --kafka-ca-file (default: the system roots) holds the CA that signed the broker's certificate"
	case errors.As(err, &hostErr):
		e.Kind, e.What = ErrTLS, "TLS certificate not valid for the name dialed"
		e.Check = "dial a name the certificate carries, or set --kafka-server-name"
	case errors.As(err, &invalid):
		e.Kind, e.What = ErrTLS, "TLS certificate invalid"
		e.Check = "check the broker's certificate (expiry, key usage) and --kafka-ca-file"
	case strings.Contains(err.Error(), "remote error: tls: ") || errors.As(err, &verifyErr):
		e.Kind, e.What = ErrTLS, "TLS handshake refused by the broker"
		e.Check = "check --kafka-cert-file/--kafka-key-file if the broker requires a client certificate, and --kafka-ca-file"
	case c.TLSOn() && (errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded)):
		e.Kind, e.What = ErrClosed, "no answer to the TLS handshake"
		e.Check = "if the broker is up, this port may be plaintext: drop --kafka-tls or use the broker's TLS port (MSK: 9094 TLS, 9096 SCRAM, 9098 IAM; 9092 is plaintext)"
	case isClosed(err):
		e.Kind, e.What = ErrClosed, "connection closed before an answer"
		switch {
		case !c.TLSOn() && mech == "":
			e.Check = "if the broker is up, its listener may want TLS (--kafka-tls) or SASL (--kafka-sasl); MSK: 9092 plaintext, 9094 TLS, 9096 SCRAM, 9098 IAM"
		case mech == "":
			e.Check = "if the broker is up, its listener may want SASL (--kafka-sasl) or plaintext (drop --kafka-tls)"
		default:
			e.Check = "if the broker is up, check that its listener on this port takes " + c.String() + " (" + c.checkCredentials(mech) + ")"
		}
	case isTLSHandshake(err):
		e.Kind, e.What = ErrTLS, "TLS handshake failed"
		e.Check = "check --kafka-tls, --kafka-ca-file and --kafka-server-name against the broker's listener"
	default:
		return fmt.Errorf("kafka broker %s: %w", broker, err)
	}
	return e
}

func (c Config) checkCredentials(mech string) string {
	if mech == AWSMSKIAM {
		return "check the AWS credentials (standard AWS configuration), that their IAM policy allows kafka-cluster:Connect on the cluster, and --kafka-aws-region"
	}
	return "check --kafka-username and the password (" + EnvPassword + " or --kafka-password), and that the broker enables " + mech + " for that user"
}

// isClosed reports a connection the broker closed or reset.
func isClosed(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) || errors.Is(err, net.ErrClosed)
}

// isTLSHandshake reports a TLS error crypto/tls gives only as text.
func isTLSHandshake(err error) bool {
	return strings.Contains(err.Error(), "tls: ")
}
