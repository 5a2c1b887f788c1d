package kafkax_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/pinpipe/pinpipe/internal/kafkatest"
	"github.com/pinpipe/pinpipe/pkg/kafkax"
)

// TestConnect connects with a Dialer and with a Transport to kfake clusters
// over every combination pinpipe supports but AWS_MSK_IAM (kfake has none).
func TestConnect(t *testing.T) {
	for _, tc := range append([]kafkatest.Cluster{{}}, kafkatest.Secured...) { // and plaintext
		brokers, sec := kafkatest.Start(t, tc)
		t.Run(sec.String(), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			conn, err := sec.DialAny(ctx, brokers, 5*time.Second)
			if err != nil {
				t.Fatalf("DialAny: %v", err)
			}
			conn.Close()
			tr, err := sec.Transport()
			if err != nil {
				t.Fatal(err)
			}
			defer tr.CloseIdleConnections()
			cl := &kafka.Client{Addr: kafka.TCP(brokers...), Transport: tr}
			if _, err := cl.Metadata(ctx, &kafka.MetadataRequest{}); err != nil {
				t.Fatalf("metadata through the Transport: %v", err)
			}
		})
	}
}

// TestExplain checks that each misconfiguration fails with an error naming
// the broker, what failed and the flag to check, and of the right kind.
func TestExplain(t *testing.T) {
	plainBrokers, _ := kafkatest.Start(t, kafkatest.Cluster{})
	tlsBrokers, tlsSec := kafkatest.Start(t, kafkatest.Cluster{TLS: true})
	mtlsBrokers, mtlsSec := kafkatest.Start(t, kafkatest.Cluster{TLS: true, ClientCert: true})
	scramBrokers, scramSec := kafkatest.Start(t, kafkatest.Cluster{SASL: kafkax.SCRAMSHA512})
	plainSASLBrokers, plainSASLSec := kafkatest.Start(t, kafkatest.Cluster{SASL: kafkax.PLAIN})
	otherCA := kafkatest.NewCA(t, "other")

	wrongPass := func(c kafkax.Config) kafkax.Config { c.Password = "wrong"; return c }
	for _, tc := range []struct {
		name    string
		brokers []string
		sec     kafkax.Config
		kind    error
		want    []string
	}{
		{"plaintext client, SASL broker", scramBrokers, kafkax.Config{}, kafkax.ErrClosed,
			[]string{"connection closed before an answer", "--kafka-tls", "--kafka-sasl"}},
		{"plaintext client, TLS broker", tlsBrokers, kafkax.Config{}, kafkax.ErrClosed,
			[]string{"connection closed", "--kafka-tls"}},
		{"TLS client, plaintext broker", plainBrokers, kafkax.Config{TLS: true}, kafkax.ErrClosed,
			[]string{"no answer to the TLS handshake", "drop --kafka-tls"}},
		{"CA not trusted", tlsBrokers, kafkax.Config{CAFile: otherCA.File}, kafkax.ErrTLS,
			[]string{"TLS certificate not trusted", "--kafka-ca-file"}},
		{"server name not in the certificate", tlsBrokers, kafkax.Config{CAFile: tlsSec.CAFile, ServerName: "kafka.example.com"}, kafkax.ErrTLS,
			[]string{"not valid for the name", "--kafka-server-name"}},
		{"no client certificate", mtlsBrokers, kafkax.Config{CAFile: mtlsSec.CAFile}, kafkax.ErrTLS,
			[]string{"TLS", "--kafka-cert-file"}},
		{"SCRAM wrong password", scramBrokers, wrongPass(scramSec), kafkax.ErrLogin,
			[]string{"SASL SCRAM-SHA-512 login failed", "--kafka-username", kafkax.EnvPassword, "enables SCRAM-SHA-512"}},
		{"PLAIN wrong password", plainSASLBrokers, wrongPass(plainSASLSec), kafkax.ErrLogin,
			[]string{"SASL PLAIN login failed", "--kafka-username"}},
		{"mechanism not enabled", scramBrokers, kafkax.Config{SASL: "SCRAM-SHA-256", Username: "alice", Password: "alice-secret"}, kafkax.ErrLogin,
			[]string{"SCRAM-SHA-256"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			conn, err := tc.sec.DialAny(ctx, tc.brokers, time.Second)
			if err == nil {
				conn.Close()
				t.Fatal("DialAny succeeded, want an error")
			}
			if !errors.Is(err, tc.kind) {
				t.Errorf("error %q is not %v", err, tc.kind)
			}
			var ce *kafkax.ConnError
			if !errors.As(err, &ce) || ce.Broker != tc.brokers[0] {
				t.Errorf("error %q: want a *kafkax.ConnError naming broker %s", err, tc.brokers[0])
			}
			for _, w := range append(tc.want, "kafka broker "+tc.brokers[0]) {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "alice-secret") {
				t.Errorf("error %q shows the password", err)
			}
			if got := kafkax.IsConfigError(err); got != (tc.kind != kafkax.ErrClosed) {
				t.Errorf("IsConfigError = %v for %v", got, tc.kind)
			}
		})
	}
}

func TestExplainOthers(t *testing.T) {
	var c kafkax.Config
	if c.Explain("b:1", nil) != nil {
		t.Error("Explain(nil) != nil")
	}
	err := c.Explain("b:1", kafka.LeaderNotAvailable)
	if !errors.Is(err, kafka.LeaderNotAvailable) || !strings.HasPrefix(err.Error(), "kafka broker b:1: ") {
		t.Errorf("Explain(LeaderNotAvailable) = %v, want it wrapped with the broker", err)
	}
	var ce *kafkax.ConnError
	if errors.As(err, &ce) {
		t.Errorf("Explain(LeaderNotAvailable) = %v, not a connection failure", err)
	}
	once := c.Explain("b:1", kafka.SASLAuthenticationFailed)
	if twice := c.Explain("b:2", once); twice != once {
		t.Errorf("explaining twice = %v, want %v", twice, once)
	}
}

func TestDialAnyUnreachable(t *testing.T) {
	var c kafkax.Config
	_, err := c.DialAny(t.Context(), []string{"127.0.0.1:1"}, time.Second)
	if err == nil || !strings.Contains(err.Error(), "no Kafka broker answers at 127.0.0.1:1") {
		t.Errorf("DialAny to a closed port = %v, want no Kafka broker answers", err)
	}
}
