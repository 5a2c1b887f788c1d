package stream_test

import (
	"os"
	"testing"

	"github.com/pinpipe/pinpipe/internal/devstack"
	"github.com/pinpipe/pinpipe/internal/streamtest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	devstack.Shutdown()
	os.Exit(code)
}

var (
	kinesisClient    = streamtest.KinesisClient
	uniqueName       = streamtest.UniqueName
	createStream     = streamtest.CreateStream
	waitActive       = streamtest.WaitActive
	putAll           = streamtest.PutAll
	pinRecords       = streamtest.PinRecords
	readPins         = streamtest.ReadPins
	expected         = streamtest.Expected
	checkExactlyOnce = streamtest.CheckExactlyOnce
	checkQuality     = streamtest.CheckQuality
	readQuality      = streamtest.ReadQuality
)
