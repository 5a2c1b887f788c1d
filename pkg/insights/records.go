package insights

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// NamedRecord is one insight table as an Arrow record, with its insights.md name.
type NamedRecord struct {
	Name   string
	Record arrow.RecordBatch
}

// Column types of the insight tables. No value of an insight table is null,
// so every column is declared non-nullable.
func strField(name string) arrow.Field {
	return arrow.Field{Name: name, Type: arrow.BinaryTypes.String}
}

func i64Field(name string) arrow.Field {
	return arrow.Field{Name: name, Type: arrow.PrimitiveTypes.Int64}
}

func i32Field(name string) arrow.Field {
	return arrow.Field{Name: name, Type: arrow.PrimitiveTypes.Int32}
}

// Schema returns the Arrow schema of the insight table name, or nil when name
// is not one of Names. Columns, names, types and order are those of insights.md:
// strings utf8, counts and medians int64, years int32; all non-nullable.
func Schema(name string) *arrow.Schema {
	var fs []arrow.Field
	switch name {
	case NamePopularCategoryByCountry:
		fs = []arrow.Field{strField("country"), strField("category"), i64Field("category_count")}
	case NamePopularCategoryByYear:
		fs = []arrow.Field{i32Field("post_year"), strField("category"), i64Field("category_count")}
	case NameMostFollowedUserByCountry:
		fs = []arrow.Field{strField("country"), strField("poster_name"), i64Field("follower_count")}
	case NameCountryWithMostFollowedUser:
		fs = []arrow.Field{strField("country"), i64Field("follower_count")}
	case NamePopularCategoryByAgeGroup:
		fs = []arrow.Field{strField("age_group"), strField("category"), i64Field("category_count")}
	case NameMedianFollowersByAgeGroup:
		fs = []arrow.Field{strField("age_group"), i64Field("median_follower_count")}
	case NameUsersJoinedByYear:
		fs = []arrow.Field{i32Field("post_year"), i64Field("number_users_joined")}
	case NameMedianFollowersByJoinYear:
		fs = []arrow.Field{i32Field("post_year"), i64Field("median_follower_count")}
	case NameMedianFollowersByAgeGroupAndJoinYear:
		fs = []arrow.Field{strField("age_group"), i32Field("post_year"), i64Field("median_follower_count")}
	default:
		return nil
	}
	return arrow.NewSchema(fs, nil)
}

// Records converts each table to an Arrow record, in the order of Names, with
// exactly the columns of Schema. The caller releases every record. A nil mem
// means memory.DefaultAllocator.
func (t Tables) Records(mem memory.Allocator) ([]NamedRecord, error) {
	if mem == nil {
		mem = memory.DefaultAllocator
	}
	builds := []func(*array.RecordBuilder){
		func(b *array.RecordBuilder) {
			for _, r := range t.PopularCategoryByCountry {
				appendStr(b, 0, r.Country)
				appendStr(b, 1, r.Category)
				appendI64(b, 2, r.CategoryCount)
			}
		},
		func(b *array.RecordBuilder) {
			for _, r := range t.PopularCategoryByYear {
				appendI32(b, 0, r.PostYear)
				appendStr(b, 1, r.Category)
				appendI64(b, 2, r.CategoryCount)
			}
		},
		func(b *array.RecordBuilder) {
			for _, r := range t.MostFollowedUserByCountry {
				appendStr(b, 0, r.Country)
				appendStr(b, 1, r.PosterName)
				appendI64(b, 2, r.FollowerCount)
			}
		},
		func(b *array.RecordBuilder) {
			for _, r := range t.CountryWithMostFollowedUser {
				appendStr(b, 0, r.Country)
				appendI64(b, 1, r.FollowerCount)
			}
		},
		func(b *array.RecordBuilder) {
			for _, r := range t.PopularCategoryByAgeGroup {
				appendStr(b, 0, r.AgeGroup)
				appendStr(b, 1, r.Category)
				appendI64(b, 2, r.CategoryCount)
			}
		},
		func(b *array.RecordBuilder) {
			for _, r := range t.MedianFollowersByAgeGroup {
				appendStr(b, 0, r.AgeGroup)
				appendI64(b, 1, r.MedianFollowerCount)
			}
		},
		func(b *array.RecordBuilder) {
			for _, r := range t.UsersJoinedByYear {
				appendI32(b, 0, r.PostYear)
				appendI64(b, 1, r.NumberUsersJoined)
			}
		},
		func(b *array.RecordBuilder) {
			for _, r := range t.MedianFollowersByJoinYear {
				appendI32(b, 0, r.PostYear)
				appendI64(b, 1, r.MedianFollowerCount)
			}
		},
		func(b *array.RecordBuilder) {
			for _, r := range t.MedianFollowersByAgeGroupAndJoinYear {
				appendStr(b, 0, r.AgeGroup)
				appendI32(b, 1, r.PostYear)
				appendI64(b, 2, r.MedianFollowerCount)
			}
		},
	}

	names := Names()
	out := make([]NamedRecord, 0, len(names))
	for i, name := range names {
		rec, err := buildRecord(mem, Schema(name), builds[i])
		if err != nil {
			for _, r := range out {
				r.Record.Release()
			}
			return nil, fmt.Errorf("building %s: %w", name, err)
		}
		out = append(out, NamedRecord{Name: name, Record: rec})
	}
	return out, nil
}

// buildRecord runs fill on a record builder of schema and returns the record.
// A builder that panics (a column of the wrong type) is reported as an error.
func buildRecord(mem memory.Allocator, schema *arrow.Schema, fill func(*array.RecordBuilder)) (rec arrow.RecordBatch, err error) {
	b := array.NewRecordBuilder(mem, schema)
	defer b.Release()
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("appending rows: %v", r)
		}
	}()
	fill(b)
	return b.NewRecordBatch(), nil
}

func appendStr(b *array.RecordBuilder, i int, v string) {
	b.Field(i).(*array.StringBuilder).Append(v)
}

func appendI64(b *array.RecordBuilder, i int, v int64) {
	b.Field(i).(*array.Int64Builder).Append(v)
}

func appendI32(b *array.RecordBuilder, i int, v int32) {
	b.Field(i).(*array.Int32Builder).Append(v)
}
