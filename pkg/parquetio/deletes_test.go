package parquetio

import (
	"bytes"
	"slices"
	"testing"

	"github.com/apache/arrow-go/v18/parquet/file"
)

// TestPosDeletesRoundTrip writes a position delete file out of order and
// reads it back sorted, with the column names and field ids the Iceberg
// spec reserves for them.
func TestPosDeletesRoundTrip(t *testing.T) {
	dels := []PosDelete{{"s3://b/t/data/b.parquet", 7}, {"s3://b/t/data/a.parquet", 9}, {"s3://b/t/data/a.parquet", 2}}
	var buf bytes.Buffer
	if err := WritePosDeletes(&buf, slices.Clone(dels), Options{RowGroupRows: 2}); err != nil {
		t.Fatal(err)
	}
	got, err := ReadPosDeletes(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	want := []PosDelete{{"s3://b/t/data/a.parquet", 2}, {"s3://b/t/data/a.parquet", 9}, {"s3://b/t/data/b.parquet", 7}}
	if !slices.Equal(got, want) {
		t.Fatalf("read %v, want %v", got, want)
	}
	pf, err := file.NewParquetReader(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	schema := pf.MetaData().Schema
	for i, c := range []struct {
		name string
		id   int32
	}{{"file_path", 2147483546}, {"pos", 2147483545}} {
		col := schema.Column(i)
		if col.Name() != c.name || col.SchemaNode().FieldID() != c.id {
			t.Errorf("column %d: %s with field id %d, want %s with %d", i, col.Name(), col.SchemaNode().FieldID(), c.name, c.id)
		}
	}
	if err := WritePosDeletes(&buf, dels, Options{Date: "2026-12-01"}); err == nil {
		t.Error("a position delete file with a date column: no error")
	}
	if _, err := ReadPosDeletes(bytes.NewReader(pinFile(t))); err == nil {
		t.Error("a pin file read as position deletes: no error")
	}
}

// TestReadStateColumns reads some columns of a clean table file with its
// origins, and refuses a file without origins.
func TestReadStateColumns(t *testing.T) {
	pins := testPins()
	org := make([]Origin, len(pins))
	for i := range org {
		org[i] = Origin{Partition: int32(i % 2), Offset: int64(100 + i), Object: "k"}
	}
	var buf bytes.Buffer
	if err := WritePins(&buf, pins, nil, Options{Origins: org}); err != nil {
		t.Fatal(err)
	}
	rows, gotOrg, err := ReadPinStateColumns(bytes.NewReader(buf.Bytes()), []string{"ind", "category"})
	if err != nil {
		t.Fatal(err)
	}
	noObjects := slices.Clone(org)
	for i := range noObjects {
		noObjects[i].Object = ""
	}
	if !slices.Equal(gotOrg, noObjects) || len(rows) != len(pins) {
		t.Fatalf("origins %v (%d rows), want %v (no objects unless asked for)", gotOrg, len(rows), noObjects)
	}
	if _, gotOrg, err := ReadPinStateColumns(bytes.NewReader(buf.Bytes()), []string{"ind", ColOriginObject}); err != nil || !slices.Equal(gotOrg, org) {
		t.Fatalf("with the objects: %v, %v; want %v", gotOrg, err, org)
	}
	for i, r := range rows {
		if r.Ind != pins[i].Ind || r.Category != pins[i].Category || r.Title.Valid {
			t.Errorf("row %d: %+v, want ind %d and category %v only", i, r, pins[i].Ind, pins[i].Category)
		}
	}
	if _, _, err := ReadPinStateColumns(bytes.NewReader(pinFile(t)), []string{"ind"}); err == nil {
		t.Error("a pin file without origins: no error")
	}
}

// pinFile is a pin file without origins.
func pinFile(t *testing.T) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := WritePins(&buf, testPins(), nil, Options{}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
