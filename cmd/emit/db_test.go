package main

import (
	"context"
	"database/sql"

	"github.com/go-sql-driver/mysql"

	"github.com/pinpipe/pinpipe/pkg/sample"
)

func dropTables(dsn string, cfg Config) error {
	mc, err := mysql.ParseDSN(dsn)
	if err != nil {
		return err
	}
	conn, err := mysql.NewConnector(mc)
	if err != nil {
		return err
	}
	db := sql.OpenDB(conn)
	defer db.Close()
	return sample.DropTables(context.Background(), db, cfg.Tables)
}
