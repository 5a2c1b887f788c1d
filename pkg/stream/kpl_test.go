package stream_test

import (
	"testing"

	"github.com/pinpipe/pinpipe/internal/devstack"
	"github.com/pinpipe/pinpipe/internal/streamtest"
	"github.com/pinpipe/pinpipe/pkg/clean"
	"github.com/pinpipe/pinpipe/pkg/landing"
	"github.com/pinpipe/pinpipe/pkg/stream"
)

// TestAggregatedKinesalite: KPL-aggregated records put with the AWS SDK into
// the local Kinesis server, beside plain ones and one with a bad digest, are
// read by the job: each user record once, as a row or a reject, and the bad
// record once, rejected whole; a restart reads only what was put since.
func TestAggregatedKinesalite(t *testing.T) {
	env := devstack.Require(t, devstack.Kinesis)
	api := kinesisClient(env, env.KinesisEndpoint)
	open := sqliteCatalogs(t).plain
	s := landing.Stream(uniqueName("t-"), clean.TablePin)
	createStream(t, api, s, 2)
	bad := streamtest.Aggregate(pinRecords(2, 0, 3), 3)[0]
	bad[len(bad)-1] ^= 0xff
	recs := append(streamtest.Aggregate(pinRecords(2, 0, 1200), 7), pinRecords(2, 1200, 100)...)
	puts := putAll(t, api, s, append(recs, bad))
	opts := stream.Options{Streams: map[clean.Table]string{clean.TablePin: s}, FlushRecords: 50}
	opts.Tables = open()
	r := startRunning(t, api, opts)
	more := putAll(t, api, s, streamtest.Aggregate(pinRecords(2, 1300, 500), 20))
	users := streamtest.UserRecords(t, append(puts[:len(puts)-1:len(puts)-1], more...))
	rows, rejects := expected(users)
	r.waitStored(t, rows, rejects+1)
	r.stop(t)

	got := readPins(t, open())
	badKey := puts[len(puts)-1].Key()
	if rj := got.Rejects[badKey]; len(rj) != 1 || rj[0].Reason != string(clean.ReasonKPLChecksum) || len(got.Rows[badKey]) != 0 {
		t.Errorf("the record with a bad digest: rows %v, rejects %+v; want one reject, %s", got.Rows[badKey], rj, clean.ReasonKPLChecksum)
	}
	delete(got.Rejects, badKey)
	checkExactlyOnce(t, got, s, users)
	if st := r.job.Stats(); st.RecordsIn != int64(len(users))+1 {
		t.Errorf("read %d records, want the %d user records and the bad one", st.RecordsIn, len(users)+1)
	}

	// A restart reads only what was put since.
	later := putAll(t, api, s, streamtest.Aggregate(pinRecords(2, 1800, 60), 9))
	opts.Tables = open()
	r = startRunning(t, api, opts)
	laterUsers := streamtest.UserRecords(t, later)
	lr, lj := expected(laterUsers)
	r.waitStored(t, lr, lj)
	r.stop(t)
	if st := r.job.Stats(); st.RecordsIn != int64(len(laterUsers)) {
		t.Errorf("the restart read %d records, want the %d new user records", st.RecordsIn, len(laterUsers))
	}
	got = readPins(t, open())
	delete(got.Rejects, badKey)
	checkExactlyOnce(t, got, s, append(users, laterUsers...))
}
