package sink

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pinpipe/pinpipe/internal/kafkatest"
	"github.com/pinpipe/pinpipe/pkg/kafkax"
	"github.com/pinpipe/pinpipe/pkg/objstore"
)

// TestHealthReportsRefusedLogin runs the sink against a SCRAM cluster with a
// wrong password: Health reports the explained login failure at once (long
// before UnhealthyAfter), the log says it at ERROR, and the sink still stops
// cleanly.
func TestHealthReportsRefusedLogin(t *testing.T) {
	brokers, sec := kafkatest.Start(t, kafkatest.Cluster{SASL: kafkax.SCRAMSHA256, Topics: []string{"p.pin"}})
	sec.Password = "wrong"
	b, err := objstore.OpenConditional(t.Context(), t.TempDir(), objstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var logs lockedBuffer
	cfg := Config{Brokers: brokers, Security: sec, Topics: []string{"p.pin"}, UnhealthyAfter: time.Hour,
		Logger: slog.New(slog.NewTextHandler(&logs, nil))}
	s, err := New(cfg, b)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Health(); err != nil {
		t.Fatalf("Health before the first attempt = %v", err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	stop := func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run = %v, want nil after the context ends", err)
		}
	}
	deadline := time.Now().Add(20 * time.Second)
	for s.Health() == nil && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	err = s.Health()
	stop()
	want := "kafka broker " + brokers[0] + ": SASL SCRAM-SHA-256 login failed"
	if err == nil || !errors.Is(err, kafkax.ErrLogin) || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "--kafka-username") {
		t.Fatalf("Health = %v, want %q with what to check", err, want)
	}
	if l := logs.String(); !strings.Contains(l, "level=ERROR") || !strings.Contains(l, "login failed") || strings.Contains(l, "wrong") {
		t.Errorf("log does not report the login failure at ERROR:\n%s", l)
	}
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
