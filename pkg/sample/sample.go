// Package sample generates the deterministic sample data of the three source
// tables (data.md §1) with the realistic dirt that cleaning.md handles.
//
// New(seed).Row(i) is row i of pinterest_data, geolocation_data and
// user_data; it depends on (seed, i) alone. PinJSON, GeoJSON and UserJSON
// are the wire records the MySQL emitter sends (data.md §2); DirtyRecords
// adds the wire-level dirt of a real stream, for the consumers' tests.
// Posts is the emulator's sequence of row numbers (draws with replacement).
// CreateTables and Load put the rows into MySQL / MariaDB through
// database/sql; the caller picks and imports the driver.
//
// The rates of every kind of dirt are the exported *Rate constants.
package sample
