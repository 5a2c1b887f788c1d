package sink

import (
	"os"
	"testing"

	"github.com/pinpipe/pinpipe/internal/devstack"
)

func TestMain(m *testing.M) {
	code := m.Run()
	devstack.Shutdown()
	os.Exit(code)
}
