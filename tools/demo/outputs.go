package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"

	"github.com/pinpipe/pinpipe/pkg/batch"
	"github.com/pinpipe/pinpipe/pkg/clean"
	"github.com/pinpipe/pinpipe/pkg/insights"
	"github.com/pinpipe/pinpipe/pkg/parquetio"
	"github.com/pinpipe/pinpipe/pkg/stream"
	"github.com/pinpipe/pinpipe/pkg/tables"
)

// scannedTable is the insight table the demo reads with iceberg-go's own
// scan, through the catalog, the manifests and the table's IO.
const scannedTable = insights.NamePopularCategoryByCountry

// summaryTotalRecords is the snapshot summary property of the table's row
// count, which every Iceberg writer sets.
const summaryTotalRecords = "total-records"

// outputs are the jobs' tables as read back through the catalog after the
// flow.
type outputs struct {
	Catalog   string // the catalog's URL
	Warehouse string // the warehouse's URL
	Namespace string
	// Insights are the nine insight tables, in the order of insights.Names:
	// the rows of the live data files of partition dt=Date, without dt.
	Insights []insightRows
	// Tables are every table of both jobs: the batch job's in commit order,
	// then the stream job's.
	Tables []tableInfo
	// Scanned are the rows of scannedTable in dt=Date, read by iceberg-go's
	// scan with a row filter on dt (without the dt column).
	Scanned textTable
	// BatchQuality is the batch run's quality.json, beside the tables.
	BatchQuality batch.QualityReport
	// QualityURL is where quality.json is.
	QualityURL string
	// ReportURL is where the batch run's report.html is, beside
	// quality.json; Report is its content.
	ReportURL string
	Report    []byte
	// StreamQuality is the stream job's running quality, read from the
	// stream tables' properties (stream.QualityKey).
	StreamQuality map[clean.Table]clean.TableQuality
	// Stray are the data files in the tables' data directories that no
	// current snapshot lists (an interrupted write leaves such files).
	Stray []string
}

// insightRows are the rows of one insight table on one day.
type insightRows struct {
	Name  string
	Files []string // the live data files of the day
	Rows  textTable
}

// tableInfo describes one table as its catalog entry and current snapshot
// say.
type tableInfo struct {
	Name      string // the table's name in the namespace
	Job       string // "batch" or "stream"
	Location  string
	Snapshots int   // snapshots in the table's metadata
	Current   int64 // the current snapshot's id; 0 when there is none
	Records   int64 // total-records of the current snapshot's summary; -1 when absent
	RunID     string
	Files     []string // the data files the current snapshot lists
	Deletes   []string // its position delete files
}

// streamDefs are the stream job's tables as the flow runs it (without
// source columns); batch.Defs are the batch job's.
func streamDefs() []tables.Def {
	var defs []tables.Def
	for _, t := range clean.Tables {
		defs = append(defs, tables.StreamDef(t, false))
	}
	return append(defs, tables.StreamQuarantineDef())
}

// readOutputs opens the flow's catalog and reads the jobs' tables back
// (after the flow has run, they exist: Ensure only loads them).
func (f *flow) readOutputs(ctx context.Context) (*outputs, error) {
	cat, err := tables.Open(ctx, tables.Config{Catalog: f.Catalog, Warehouse: f.Warehouse, Namespace: f.namespace()})
	if err != nil {
		return nil, err
	}
	defer cat.Close()
	out := &outputs{Catalog: cat.String(), Warehouse: f.Warehouse, Namespace: cat.Namespace(),
		StreamQuality: map[clean.Table]clean.TableQuality{}}

	open := map[string]*tables.Table{}
	for _, job := range []struct {
		name string
		defs []tables.Def
	}{{"batch", batch.Defs()}, {"stream", streamDefs()}} {
		for _, def := range job.defs {
			tbl, err := cat.Ensure(ctx, def)
			if err != nil {
				return nil, err
			}
			open[def.Name] = tbl
			info, err := describe(ctx, tbl)
			if err != nil {
				return nil, err
			}
			info.Job = job.name
			out.Tables = append(out.Tables, info)
			stray, err := strayFiles(ctx, cat, info)
			if err != nil {
				return nil, err
			}
			out.Stray = append(out.Stray, stray...)
		}
	}

	for _, name := range insights.Names() {
		rows, err := readDay(ctx, cat, open[name], f.Date)
		if err != nil {
			return nil, fmt.Errorf("insight table %s: %w", name, err)
		}
		out.Insights = append(out.Insights, rows)
	}
	if out.Scanned, err = scanDay(ctx, open[scannedTable], f.Date); err != nil {
		return nil, fmt.Errorf("scanning %s: %w", scannedTable, err)
	}

	key := batch.QualityFile(cat.Namespace(), f.Date)
	out.QualityURL = strings.TrimSuffix(f.Warehouse, "/") + "/" + key
	data, err := getAll(ctx, cat.Warehouse(), key)
	if err != nil {
		return nil, fmt.Errorf("the batch quality report: %w", err)
	}
	if err := json.Unmarshal(data, &out.BatchQuality); err != nil {
		return nil, fmt.Errorf("reading %s: %w", out.QualityURL, err)
	}
	rkey := batch.ReportFile(cat.Namespace(), f.Date)
	out.ReportURL = strings.TrimSuffix(f.Warehouse, "/") + "/" + rkey
	if out.Report, err = getAll(ctx, cat.Warehouse(), rkey); err != nil {
		return nil, fmt.Errorf("the batch report: %w", err)
	}
	for _, t := range clean.Tables {
		def := tables.StreamDef(t, false)
		var q clean.TableQuality
		if raw := open[def.Name].Properties()[stream.QualityKey]; raw != "" {
			if err := json.Unmarshal([]byte(raw), &q); err != nil {
				return nil, fmt.Errorf("table %s: property %s: %w", def.Name, stream.QualityKey, err)
			}
		}
		out.StreamQuality[t] = q
	}
	return out, nil
}

// describe reads what the catalog and the current snapshot say of tbl.
func describe(ctx context.Context, tbl *tables.Table) (tableInfo, error) {
	it := tbl.Iceberg()
	info := tableInfo{Name: tbl.Def().Name, Location: it.Location(), Snapshots: len(it.Metadata().Snapshots()), Records: -1}
	snap := it.CurrentSnapshot()
	if snap == nil {
		return info, nil
	}
	info.Current = snap.SnapshotID
	if snap.Summary != nil {
		if n, err := strconv.ParseInt(snap.Summary.Properties[summaryTotalRecords], 10, 64); err == nil {
			info.Records = n
		}
		info.RunID = snap.Summary.Properties[batch.SummaryRunID]
	}
	files, err := tbl.LiveFiles(ctx)
	if err != nil {
		return info, err
	}
	for _, df := range files {
		info.Files = append(info.Files, df.FilePath())
	}
	dels, err := tbl.DeleteFiles(ctx)
	if err != nil {
		return info, err
	}
	for _, f := range dels {
		info.Deletes = append(info.Deletes, f.Location)
	}
	return info, nil
}

// strayFiles lists the files in the data directory of a table that its
// current snapshot does not list.
func strayFiles(ctx context.Context, cat *tables.Catalog, info tableInfo) ([]string, error) {
	dir := strings.TrimSuffix(info.Location, "/") + "/data/"
	b, key, err := cat.Store(ctx, dir)
	if err != nil {
		return nil, err
	}
	objs, err := b.List(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("listing %s: %w", dir, err)
	}
	var stray []string
	for _, o := range objs {
		loc := dir + strings.TrimPrefix(o.Key, key)
		if !slices.Contains(info.Files, loc) && !slices.Contains(info.Deletes, loc) {
			stray = append(stray, loc)
		}
	}
	return stray, nil
}

// dayOf returns the day of partition field dt of a data file of tbl.
func dayOf(tbl *tables.Table, df iceberg.DataFile) (string, bool) {
	spec := tbl.Iceberg().Spec()
	for _, pf := range spec.Fields() {
		if pf.Name != parquetio.ColDT {
			continue
		}
		var days int64
		switch v := df.Partition()[pf.FieldID].(type) {
		case iceberg.Date:
			days = int64(v)
		case int32:
			days = int64(v)
		default:
			return "", false
		}
		return time.Unix(days*86400, 0).UTC().Format(time.DateOnly), true
	}
	return "", false
}

// readDay reads the live data files of partition dt=date of tbl with
// pkg/parquetio, without the dt column.
func readDay(ctx context.Context, cat *tables.Catalog, tbl *tables.Table, date string) (insightRows, error) {
	out := insightRows{Name: tbl.Def().Name, Rows: headerOf(tbl.Def().Columns)}
	files, err := tbl.LiveFiles(ctx)
	if err != nil {
		return out, err
	}
	for _, df := range files {
		if d, ok := dayOf(tbl, df); !ok || d != date {
			continue
		}
		data, err := cat.ReadFile(ctx, df.FilePath())
		if err != nil {
			return out, err
		}
		at, err := parquetio.ReadTable(bytes.NewReader(data), nil)
		if err != nil {
			return out, fmt.Errorf("reading %s: %w", df.FilePath(), err)
		}
		rows, err := textRows(at, parquetio.ColDT)
		at.Release()
		if err != nil {
			return out, fmt.Errorf("reading %s: %w", df.FilePath(), err)
		}
		out.Files = append(out.Files, df.FilePath())
		out.Rows.rows = append(out.Rows.rows, rows.rows...)
	}
	return out, nil
}

// scanDay reads partition dt=date of tbl with iceberg-go's scan: the
// catalog's current snapshot, its manifests, and the data files through the
// table's IO, filtered on dt (an independent path from pkg/parquetio).
func scanDay(ctx context.Context, tbl *tables.Table, date string) (textTable, error) {
	day, err := time.Parse(time.DateOnly, date)
	if err != nil {
		return textTable{}, err
	}
	var cols []string
	for _, f := range tbl.Def().Columns.Fields() {
		cols = append(cols, f.Name)
	}
	scan := tbl.Iceberg().Scan(
		table.WithRowFilter(iceberg.EqualTo(iceberg.Reference(parquetio.ColDT), iceberg.Date(day.Unix()/86400))),
		table.WithSelectedFields(cols...))
	at, err := scan.ToArrowTable(ctx)
	if err != nil {
		return textTable{}, err
	}
	defer at.Release()
	return textRows(at, parquetio.ColDT)
}

// headerOf is an empty text table with the columns of schema.
func headerOf(schema *arrow.Schema) textTable {
	var t textTable
	for _, fld := range schema.Fields() {
		t.header = append(t.header, fld.Name)
		t.right = append(t.right, arrow.IsInteger(fld.Type.ID()) || arrow.IsFloating(fld.Type.ID()))
	}
	return t
}

// textRows returns the rows of at as text, without column drop.
func textRows(at arrow.Table, drop string) (textTable, error) {
	var keep []int
	var fields []arrow.Field
	for i, fld := range at.Schema().Fields() {
		if fld.Name != drop {
			keep = append(keep, i)
			fields = append(fields, fld)
		}
	}
	t := headerOf(arrow.NewSchema(fields, nil))
	tr := array.NewTableReader(at, 0)
	defer tr.Release()
	for tr.Next() {
		rec := tr.RecordBatch()
		for row := range int(rec.NumRows()) {
			cells := make([]string, len(keep))
			for j, c := range keep {
				cells[j] = rec.Column(c).ValueStr(row)
			}
			t.rows = append(t.rows, cells)
		}
	}
	return t, tr.Err()
}
