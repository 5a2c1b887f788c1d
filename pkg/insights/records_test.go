package insights

import (
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

func TestRecords(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	t.Cleanup(func() { mem.AssertSize(t, 0) })

	tables := Compute(synthetic(3, 2000))
	recs, err := tables.Records(mem)
	if err != nil {
		t.Fatalf("Records: %v", err)
	}
	t.Cleanup(func() {
		for _, r := range recs {
			r.Record.Release()
		}
	})

	wantRows := []int{
		len(tables.PopularCategoryByCountry), len(tables.PopularCategoryByYear),
		len(tables.MostFollowedUserByCountry), len(tables.CountryWithMostFollowedUser),
		len(tables.PopularCategoryByAgeGroup), len(tables.MedianFollowersByAgeGroup),
		len(tables.UsersJoinedByYear), len(tables.MedianFollowersByJoinYear),
		len(tables.MedianFollowersByAgeGroupAndJoinYear),
	}
	wantCols := map[string]string{
		NamePopularCategoryByCountry:             "country:utf8,category:utf8,category_count:int64",
		NamePopularCategoryByYear:                "post_year:int32,category:utf8,category_count:int64",
		NameMostFollowedUserByCountry:            "country:utf8,poster_name:utf8,follower_count:int64",
		NameCountryWithMostFollowedUser:          "country:utf8,follower_count:int64",
		NamePopularCategoryByAgeGroup:            "age_group:utf8,category:utf8,category_count:int64",
		NameMedianFollowersByAgeGroup:            "age_group:utf8,median_follower_count:int64",
		NameUsersJoinedByYear:                    "post_year:int32,number_users_joined:int64",
		NameMedianFollowersByJoinYear:            "post_year:int32,median_follower_count:int64",
		NameMedianFollowersByAgeGroupAndJoinYear: "age_group:utf8,post_year:int32,median_follower_count:int64",
	}
	if len(recs) != len(Names()) {
		t.Fatalf("Records gave %d records, want %d", len(recs), len(Names()))
	}
	for i, r := range recs {
		if r.Name != Names()[i] {
			t.Errorf("record %d is %q, want %q", i, r.Name, Names()[i])
		}
		cols := ""
		for j, f := range r.Record.Schema().Fields() {
			if j > 0 {
				cols += ","
			}
			cols += f.Name + ":" + f.Type.String()
			if f.Nullable {
				t.Errorf("%s.%s is nullable", r.Name, f.Name)
			}
		}
		if cols != wantCols[r.Name] {
			t.Errorf("%s columns = %s, want %s", r.Name, cols, wantCols[r.Name])
		}
		if got := int(r.Record.NumRows()); got != wantRows[i] || got == 0 {
			t.Errorf("%s has %d rows, want %d (> 0)", r.Name, got, wantRows[i])
		}
	}

	// Spot-check values of the first table.
	rec := recs[0].Record
	country := rec.Column(0).(*array.String)
	count := rec.Column(2).(*array.Int64)
	for i, want := range tables.PopularCategoryByCountry {
		if country.Value(i) != want.Country || count.Value(i) != want.CategoryCount {
			t.Errorf("row %d = %s %d, want %+v", i, country.Value(i), count.Value(i), want)
		}
	}
}

func TestRecordsEmpty(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	t.Cleanup(func() { mem.AssertSize(t, 0) })
	recs, err := Tables{}.Records(mem)
	if err != nil {
		t.Fatalf("Records: %v", err)
	}
	for _, r := range recs {
		if r.Record.NumRows() != 0 || !r.Record.Schema().Equal(Schema(r.Name)) {
			t.Errorf("%s: %d rows, schema %s", r.Name, r.Record.NumRows(), r.Record.Schema())
		}
		var _ arrow.RecordBatch = r.Record
		r.Record.Release()
	}
}
