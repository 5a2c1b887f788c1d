package parquetio_test

import (
	"bytes"
	"fmt"
	"log"

	"github.com/pinpipe/pinpipe/pkg/clean"
	"github.com/pinpipe/pinpipe/pkg/parquetio"
)

func ExampleWriteGeos() {
	rows := []clean.Geo{
		{Ind: 1, Country: clean.Str{V: "Chile", Valid: true},
			Coordinates: clean.Coords{Lat: -33.45, Lon: -70.66, Valid: true},
			Timestamp:   clean.Time{Micros: 1_600_000_000_000_000, Valid: true}},
		{Ind: 2}, // every nullable column null
	}
	var buf bytes.Buffer
	if err := parquetio.WriteGeos(&buf, rows, nil, parquetio.Options{}); err != nil {
		log.Fatal(err)
	}
	got, src, err := parquetio.ReadGeos(bytes.NewReader(buf.Bytes()))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(parquetio.GeoSchema(false))
	fmt.Printf("%+v\n%+v\nsources: %v\n", got[0], got[1], src)
	// Output:
	// schema:
	//   fields: 4
	//     - ind: type=int64
	//     - country: type=utf8, nullable
	//     - coordinates: type=list<element: float64>, nullable
	//     - timestamp: type=timestamp[us, tz=UTC], nullable
	// {Ind:1 Country:{V:Chile Valid:true} Coordinates:{Lat:-33.45 Lon:-70.66 Valid:true} Timestamp:{Micros:1600000000000000 Valid:true}}
	// {Ind:2 Country:{V: Valid:false} Coordinates:{Lat:0 Lon:0 Valid:false} Timestamp:{Micros:0 Valid:false}}
	// sources: []
}
