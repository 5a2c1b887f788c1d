package tables

import (
	"encoding/binary"
	"fmt"
	"math"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"
	"github.com/twmb/murmur3"

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
	// Buckets, when not 0, partitions the table by bucket(ind, Buckets)
	// (Iceberg's bucket transform), so that a writer replaces the files of
	// the buckets its rows fall in and keeps the others.
	Buckets int
	// Version is the version of pinpipe's definition of the table, kept in
	// its properties (SchemaVersionKey). Default: "1".
	Version string
	// Upgrades are older versions of the definition whose tables this one
	// reads as they are; its next commit to such a table sets Version, so
	// that a pinpipe of the older version refuses it from then on.
	Upgrades []string
	// ManifestMergeCount, when not 0, is the table's
	// commit.manifest.min-count-to-merge (iceberg-go's default: 100), set at
	// creation and by the next commit of a table that has another. Every
	// reader of the table (and every commit) reads all the manifests of its
	// snapshot, and a commit adds at least one: a table committed once a day
	// would take 100 days to merge them (BatchManifestMergeCount).
	ManifestMergeCount int
}

// BatchManifestMergeCount is the ManifestMergeCount of the batch job's
// tables: their manifests are merged once there are 4, so a run reads a
// handful per table, not one per run of the last 100; a merge rewrites the
// table's entries, at most a few hundred data files for these tables (an
// insight table gains one a day). The stream tables keep the default: they
// commit every few seconds and gain thousands of files.
const BatchManifestMergeCount = 4

// StateBuckets is the number of buckets of the batch job's clean tables. A
// day of posts has new rows in every bucket of a few, so more buckets would
// save an incremental run little, and cost a full run memory: the Parquet
// writers of 16 buckets' files raised its peak RSS for a million posts from
// 1.4 to 1.55 GiB.
const StateBuckets = 4

// CleanVersion is the version of the clean tables' definition: 2 added the
// origin columns and the buckets (the incremental batch job's state), 3
// position delete files (a pinpipe of version 2 would not apply them: it
// refuses a table of version 3). A table of version 2 is read as it is, and
// marked 3 by its next commit.
const CleanVersion = "3"

// version is the definition's version, "1" unless set.
func (d Def) version() string {
	if d.Version == "" {
		return SchemaVersion
	}
	return d.Version
}

// BucketFunc returns the bucket function of the table: Iceberg's bucket
// transform of a long ind (murmur3 of its 8 little-endian bytes) into
// d.Buckets buckets. Computed here rather than through iceberg-go's
// transformer, whose argument is an any: boxing each ind cost an
// allocation, and a --full run of a million posts 0.25 CPU-seconds.
// TestBucketFunc holds it to iceberg-go's.
func (d Def) BucketFunc() func(int64) int32 {
	n := int32(d.Buckets)
	return func(ind int64) int32 {
		var b [8]byte
		binary.LittleEndian.PutUint64(b[:], uint64(ind))
		return (int32(murmur3.Sum32(b[:])) & math.MaxInt32) % n
	}
}

// Names of the batch and stream tables besides the clean and insight ones.
const (
	BatchQuarantine  = "batch_quarantine"
	StreamQuarantine = "stream_quarantine"
)

// CleanDef is the clean table t of the batch job: pin, geo or user, with the
// origin of each row (parquetio.Origin), bucketed by ind.
func CleanDef(t clean.Table) Def {
	return Def{Name: string(t), Columns: parquetio.WithOrigins(cleanColumns(t, false)), Buckets: StateBuckets, Version: CleanVersion, Upgrades: []string{"2"},
		ManifestMergeCount: BatchManifestMergeCount}
}

// InsightDef is the insight table name (insights.Names), partitioned by the
// run date.
func InsightDef(name string) Def {
	return Def{Name: name, Columns: insights.Schema(name), ByDay: true, ManifestMergeCount: BatchManifestMergeCount}
}

// BatchQuarantineDef is the batch job's table of rejected lines.
func BatchQuarantineDef() Def {
	return Def{Name: BatchQuarantine, Columns: parquetio.RejectedSchema(), ByDay: true, ManifestMergeCount: BatchManifestMergeCount}
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

// Spec is the table's partition spec: identity(dt), bucket(ind) or none.
func (d Def) Spec(s *iceberg.Schema) iceberg.PartitionSpec {
	switch {
	case d.ByDay:
		f, _ := s.FindFieldByName(parquetio.ColDT)
		return iceberg.NewPartitionSpec(iceberg.PartitionField{SourceIDs: []int{f.ID}, FieldID: partitionFieldID,
			Name: parquetio.ColDT, Transform: iceberg.IdentityTransform{}})
	case d.Buckets > 0:
		f, _ := s.FindFieldByName("ind")
		return iceberg.NewPartitionSpec(iceberg.PartitionField{SourceIDs: []int{f.ID}, FieldID: partitionFieldID,
			Name: "ind_bucket", Transform: iceberg.BucketTransform{NumBuckets: d.Buckets}})
	}
	return *iceberg.UnpartitionedSpec
}

// dayValue is the partition value of a date YYYY-MM-DD.
func dayValue(date string) (iceberg.Date, error) {
	t, err := time.Parse(time.DateOnly, date)
	if err != nil || t.Format(time.DateOnly) != date {
		return 0, fmt.Errorf("date %q: want YYYY-MM-DD", date)
	}
	return iceberg.Date(t.Unix() / 86400), nil
}

// dayString is the date YYYY-MM-DD of a partition value (dayValue's inverse).
func dayString(d iceberg.Date) string {
	return time.Unix(int64(d)*86400, 0).UTC().Format(time.DateOnly)
}
