package parquetio

import (
	"github.com/apache/arrow-go/v18/arrow"
)

// Column types of the files.
var (
	// TimestampType is timestamp[us, UTC].
	TimestampType = &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}
	// CoordinatesType is list<float64>, [latitude, longitude]. The element
	// field is named "element", as in the Parquet LIST convention, so the
	// type reads back unchanged.
	CoordinatesType = arrow.ListOfField(arrow.Field{Name: "element", Type: arrow.PrimitiveTypes.Float64})
)

// Names of the source columns carried by stream-job files.
const (
	ColShard       = "shard"
	ColSequence    = "sequence_number"
	ColArrivalTime = "arrival_time"
)

// Source is where a stream-job row came from: the Kinesis shard, the sequence
// number of its record, and the time it arrived (µs since the epoch, UTC).
// Files written with sources carry them as the last three columns, shard and
// sequence_number utf8 and arrival_time timestamp[us, UTC], all non-null.
type Source struct {
	Shard         string
	Sequence      string
	ArrivalMicros int64
}

func required(name string, t arrow.DataType) arrow.Field {
	return arrow.Field{Name: name, Type: t}
}

func nullable(name string, t arrow.DataType) arrow.Field {
	return arrow.Field{Name: name, Type: t, Nullable: true}
}

func nullStr(name string) arrow.Field { return nullable(name, arrow.BinaryTypes.String) }

func withSourceFields(fs []arrow.Field, withSource bool) *arrow.Schema {
	if withSource {
		fs = append(fs,
			required(ColShard, arrow.BinaryTypes.String),
			required(ColSequence, arrow.BinaryTypes.String),
			required(ColArrivalTime, TimestampType),
		)
	}
	return arrow.NewSchema(fs, nil)
}

// Number of columns of each table without the source columns.
const (
	pinCols  = 11
	geoCols  = 4
	userCols = 4
)

// PinSchema is the schema of a clean pin file, columns in cleaning.md order:
// ind int64 and unique_id utf8 (both non-null), then title, description,
// follower_count int64, poster_name, tag_list, is_image_or_video, image_src,
// save_location and category (nullable utf8 unless said). withSource adds the
// source columns.
func PinSchema(withSource bool) *arrow.Schema {
	return withSourceFields([]arrow.Field{
		required("ind", arrow.PrimitiveTypes.Int64),
		required("unique_id", arrow.BinaryTypes.String),
		nullStr("title"),
		nullStr("description"),
		nullable("follower_count", arrow.PrimitiveTypes.Int64),
		nullStr("poster_name"),
		nullStr("tag_list"),
		nullStr("is_image_or_video"),
		nullStr("image_src"),
		nullStr("save_location"),
		nullStr("category"),
	}, withSource)
}

// GeoSchema is the schema of a clean geo file: ind int64 (non-null), country
// utf8, coordinates list<float64>, timestamp timestamp[us, UTC]. withSource
// adds the source columns.
func GeoSchema(withSource bool) *arrow.Schema {
	return withSourceFields([]arrow.Field{
		required("ind", arrow.PrimitiveTypes.Int64),
		nullStr("country"),
		nullable("coordinates", CoordinatesType),
		nullable("timestamp", TimestampType),
	}, withSource)
}

// UserSchema is the schema of a clean user file: ind int64 (non-null),
// user_name utf8, age int32, date_joined timestamp[us, UTC]. withSource adds
// the source columns.
func UserSchema(withSource bool) *arrow.Schema {
	return withSourceFields([]arrow.Field{
		required("ind", arrow.PrimitiveTypes.Int64),
		nullStr("user_name"),
		nullable("age", arrow.PrimitiveTypes.Int32),
		nullable("date_joined", TimestampType),
	}, withSource)
}

// RejectedSchema is the schema of a quarantine file: table, reason, detail,
// source utf8, line int64, shard, sequence_number, raw utf8; all non-null
// (an absent value is "" or 0).
func RejectedSchema() *arrow.Schema {
	s := arrow.BinaryTypes.String
	return arrow.NewSchema([]arrow.Field{
		required("table", s),
		required("reason", s),
		required("detail", s),
		required("source", s),
		required("line", arrow.PrimitiveTypes.Int64),
		required(ColShard, s),
		required(ColSequence, s),
		required("raw", s),
	}, nil)
}
