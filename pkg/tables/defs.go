package tables

import (
	"fmt"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"

	"github.com/pinpipe/pinpipe/pkg/clean"
	"github.com/pinpipe/pinpipe/pkg/insights"
	"github.com/pinpipe/pinpipe/pkg/parquetio"
)

// Def is one of pinpipe's tables (tables.md §2): its name, the columns of its
// data files and whether it is partitioned by day.
type Def struct {
	Name string
	// Columns are the columns of the data files, without dt: the schemas of
	// pkg/parquetio and pkg/insights, whose writers fill them.
	Columns *arrow.Schema
	// ByDay adds the column dt (date) and partitions by identity(dt).
	ByDay bool
}

// Names of the batch and stream tables besides the clean and insight ones.
const (
	BatchQuarantine  = "batch_quarantine"
	StreamQuarantine = "stream_quarantine"
)

// CleanDef is the clean table t of the batch job: pin, geo or user.
func CleanDef(t clean.Table) Def {
	return Def{Name: string(t), Columns: cleanColumns(t, false)}
}

// InsightDef is the insight table name (insights.Names), partitioned by the
// run date.
func InsightDef(name string) Def {
	return Def{Name: name, Columns: insights.Schema(name), ByDay: true}
}

// BatchQuarantineDef is the batch job's table of rejected lines.
func BatchQuarantineDef() Def {
	return Def{Name: BatchQuarantine, Columns: parquetio.RejectedSchema(), ByDay: true}
}

// StreamDef is the stream job's table of the accepted records of t:
// stream_pin, stream_geo or stream_user, with the source columns (shard,
// sequence number, arrival time) when withSource.
func StreamDef(t clean.Table, withSource bool) Def {
	return Def{Name: "stream_" + string(t), Columns: cleanColumns(t, withSource), ByDay: true}
}

// StreamQuarantineDef is the stream job's table of rejected records.
func StreamQuarantineDef() Def {
	return Def{Name: StreamQuarantine, Columns: parquetio.RejectedSchema(), ByDay: true}
}

func cleanColumns(t clean.Table, withSource bool) *arrow.Schema {
	switch t {
	case clean.TablePin:
		return parquetio.PinSchema(withSource)
	case clean.TableGeo:
		return parquetio.GeoSchema(withSource)
	}
	return parquetio.UserSchema(withSource)
}

// dtSentinel only marks the file schema as partitioned: the files of a
// table by day get the dt column (parquetio.Options.Date).
const dtSentinel = "2000-01-01"

// FileSchema is the schema of the table's data files, with field ids (and
// dt when by day).
func (d Def) FileSchema() *arrow.Schema {
	var o parquetio.Options
	if d.ByDay {
		o.Date = dtSentinel
	}
	return parquetio.FileSchema(d.Columns, o)
}

// Schema is the table's Iceberg schema: the file schema's columns with
// their field ids.
func (d Def) Schema() (*iceberg.Schema, error) {
	if d.Columns == nil {
		return nil, fmt.Errorf("table %s: no columns", d.Name)
	}
	s, err := table.ArrowSchemaToIceberg(d.FileSchema(), false, nil)
	if err != nil {
		return nil, fmt.Errorf("table %s: %w", d.Name, err)
	}
	return s, nil
}

// partitionFieldID is the id of the dt partition field (Iceberg starts
// partition field ids at 1000).
const partitionFieldID = 1000

// Spec is the table's partition spec: identity(dt) or none.
func (d Def) Spec(s *iceberg.Schema) iceberg.PartitionSpec {
	if !d.ByDay {
		return *iceberg.UnpartitionedSpec
	}
	f, _ := s.FindFieldByName(parquetio.ColDT)
	return iceberg.NewPartitionSpec(iceberg.PartitionField{SourceIDs: []int{f.ID}, FieldID: partitionFieldID,
		Name: parquetio.ColDT, Transform: iceberg.IdentityTransform{}})
}

// dayValue is the partition value of a date YYYY-MM-DD.
func dayValue(date string) (iceberg.Date, error) {
	t, err := time.Parse(time.DateOnly, date)
	if err != nil || t.Format(time.DateOnly) != date {
		return 0, fmt.Errorf("date %q: want YYYY-MM-DD", date)
	}
	return iceberg.Date(t.Unix() / 86400), nil
}
