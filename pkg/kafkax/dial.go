package kafkax

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/sasl"
	"github.com/segmentio/kafka-go/sasl/aws_msk_iam_v2"
	"github.com/segmentio/kafka-go/sasl/plain"
	"github.com/segmentio/kafka-go/sasl/scram"
)

// Dialer returns a kafka-go dialer of c (for kafka.ReaderConfig,
// kafka.ConsumerGroupConfig and kafka.Conn) with the given dial timeout
// (0: none but the context's). It reads the TLS files and, for AWS_MSK_IAM,
// the standard AWS configuration (no network I/O: credentials are fetched at
// the first login).
func (c Config) Dialer(timeout time.Duration) (*kafka.Dialer, error) {
	tc, mech, err := c.parts()
	if err != nil {
		return nil, err
	}
	return &kafka.Dialer{Timeout: timeout, DualStack: true, TLS: tc, SASLMechanism: mech}, nil
}

// Transport returns a kafka-go transport of c (for kafka.Writer and
// kafka.Client); the caller may set its other fields (MetadataTTL,
// DialTimeout, ...). See Dialer.
func (c Config) Transport() (*kafka.Transport, error) {
	tc, mech, err := c.parts()
	if err != nil {
		return nil, err
	}
	return &kafka.Transport{TLS: tc, SASL: mech}, nil
}

// parts validates c and returns its TLS configuration and SASL mechanism;
// it reads the TLS files once.
func (c Config) parts() (*tls.Config, sasl.Mechanism, error) {
	if err := c.check(); err != nil {
		return nil, nil, err
	}
	tc, err := c.TLSConfig()
	if err != nil {
		return nil, nil, err
	}
	mech, err := c.SASLMechanism(context.Background())
	if err != nil {
		return nil, nil, err
	}
	return tc, mech, nil
}

// SASLMechanism returns the kafka-go SASL mechanism of c, nil when SASL is
// off. For AWS_MSK_IAM it loads the standard AWS configuration: the region
// (AWSRegion first) and the credentials provider.
func (c Config) SASLMechanism(ctx context.Context) (sasl.Mechanism, error) {
	m, err := c.Mechanism()
	if err != nil {
		return nil, err
	}
	switch m {
	case PLAIN:
		return plain.Mechanism{Username: c.Username, Password: c.Password}, nil
	case SCRAMSHA256, SCRAMSHA512:
		algo := scram.SHA256
		if m == SCRAMSHA512 {
			algo = scram.SHA512
		}
		mech, err := scram.Mechanism(algo, c.Username, c.Password)
		if err != nil {
			return nil, fmt.Errorf("kafka SASL %s: %w", m, err)
		}
		return mech, nil
	case AWSMSKIAM:
		var opts []func(*config.LoadOptions) error
		if c.AWSRegion != "" {
			opts = append(opts, config.WithRegion(c.AWSRegion))
		}
		awsCfg, err := config.LoadDefaultConfig(ctx, opts...)
		if err != nil {
			return nil, fmt.Errorf("kafka SASL %s: loading the AWS configuration: %w", m, err)
		}
		if awsCfg.Region == "" {
			return nil, errors.New("kafka SASL AWS_MSK_IAM: no AWS region: set --kafka-aws-region, " + EnvAWSRegion + " or AWS_REGION")
		}
		return aws_msk_iam_v2.NewMechanism(awsCfg), nil
	}
	return nil, nil
}

// DialAny connects to the first of brokers that answers, with a Dialer of c
// of the given timeout, and asks it for the cluster's brokers (metadata), so that a broker
// that wants TLS or SASL from a client that does not offer them is found out
// here. It returns the connection, or an error: an explained handshake or
// login failure (a *ConnError), else that no broker answers.
func (c Config) DialAny(ctx context.Context, brokers []string, timeout time.Duration) (*kafka.Conn, error) {
	d, err := c.Dialer(timeout)
	if err != nil {
		return nil, err
	}
	var errs []error
	explained := false
	for _, b := range brokers {
		conn, err := d.DialContext(ctx, "tcp", b)
		if err == nil {
			if timeout > 0 {
				conn.SetDeadline(time.Now().Add(timeout))
			}
			if _, err = conn.Brokers(); err == nil {
				conn.SetDeadline(time.Time{})
				return conn, nil
			}
			conn.Close()
		}
		err = c.Explain(b, err)
		var ce *ConnError
		explained = explained || errors.As(err, &ce)
		errs = append(errs, err)
	}
	if explained {
		return nil, errors.Join(errs...)
	}
	return nil, fmt.Errorf("no Kafka broker answers at %s: %w", strings.Join(brokers, ","), errors.Join(errs...))
}
