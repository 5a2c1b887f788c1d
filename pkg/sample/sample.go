// Package sample generates the deterministic sample data of the three source
// tables (data.md §1) with the realistic dirt that cleaning.md handles.
package sample
