package insights_test

import (
	"bytes"
	"reflect"
	"testing"

	"github.com/pinpipe/pinpipe/pkg/clean"
	"github.com/pinpipe/pinpipe/pkg/insights"
	"github.com/pinpipe/pinpipe/pkg/parquetio"
	"github.com/pinpipe/pinpipe/pkg/sample"
)

// TestColumns: Compute gives the same tables from the trimmed rows as from
// whole ones, and reading only the named columns of a file gives the
// trimmed rows. A field that Compute starts to read without being added to
// the columns fails here.
func TestColumns(t *testing.T) {
	g := sample.New(3)
	c := clean.New()
	var in insights.Input
	for _, i := range sample.Posts(3, 400, 3000) {
		p, geo, u := g.DirtyRecords(i)
		if r, err := c.Pin(p); err == nil {
			in.Pins = append(in.Pins, r)
		}
		if r, err := c.Geo(geo); err == nil {
			in.Geos = append(in.Geos, r)
		}
		if r, err := c.User(u); err == nil {
			in.Users = append(in.Users, r)
		}
	}
	var trimmed insights.Input
	for _, p := range in.Pins {
		trimmed.Pins = append(trimmed.Pins, insights.TrimPin(p))
	}
	for _, g := range in.Geos {
		trimmed.Geos = append(trimmed.Geos, insights.TrimGeo(g))
	}
	for _, u := range in.Users {
		trimmed.Users = append(trimmed.Users, insights.TrimUser(u))
	}
	// Every field Compute does not read, varied, changes nothing: the
	// trimmed input has them all at zero.
	want := insights.Compute(in)
	if got := insights.Compute(trimmed); !reflect.DeepEqual(got, want) {
		t.Errorf("Compute of trimmed rows differs")
	}
	if len(want.PopularCategoryByCountry) == 0 || len(want.MedianFollowersByAgeGroupAndJoinYear) == 0 {
		t.Fatal("the sample gives empty insight tables")
	}

	var buf bytes.Buffer
	check := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	check(parquetio.WritePins(&buf, in.Pins, nil, parquetio.Options{}))
	pins, err := parquetio.ReadPinColumns(bytes.NewReader(buf.Bytes()), insights.PinColumns)
	check(err)
	buf.Reset()
	check(parquetio.WriteGeos(&buf, in.Geos, nil, parquetio.Options{}))
	geos, err := parquetio.ReadGeoColumns(bytes.NewReader(buf.Bytes()), insights.GeoColumns)
	check(err)
	buf.Reset()
	check(parquetio.WriteUsers(&buf, in.Users, nil, parquetio.Options{}))
	users, err := parquetio.ReadUserColumns(bytes.NewReader(buf.Bytes()), insights.UserColumns)
	check(err)
	if !reflect.DeepEqual(pins, trimmed.Pins) || !reflect.DeepEqual(geos, trimmed.Geos) || !reflect.DeepEqual(users, trimmed.Users) {
		t.Error("reading the columns gives other rows than trimming")
	}
}
